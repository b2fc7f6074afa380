/**
 * URLs of the planner pages. The base is the route of the plug-in's menu entry
 * in plugin.json (Campaigns → Journeys); every link and redirect is built here.
 */
export const PLANNER_BASE = '/journeys';

export const plannerPaths = {
  list: () => PLANNER_BASE,
  create: () => `${PLANNER_BASE}/new`,
  history: (email?: string) => `${PLANNER_BASE}/history${email ? `?email=${encodeURIComponent(email)}` : ''}`,
  asset: (file: string) => `${PLANNER_BASE}/assets/${file}`,
  journey: (id: number) => `${PLANNER_BASE}/${id}`,
  info: (id: number) => `${PLANNER_BASE}/${id}/info`,
  planner: (id: number) => `${PLANNER_BASE}/${id}/planner`,
  funnel: (id: number) => `${PLANNER_BASE}/${id}/funnel`,
  failed: (id: number) => `${PLANNER_BASE}/${id}/failed`,
  journeyHistory: (id: number, email?: string) => `${PLANNER_BASE}/${id}/history${email ? `?email=${encodeURIComponent(email)}` : ''}`,
  command: (id: number, command: 'enable' | 'disable' | 'copy' | 'delete') => `${PLANNER_BASE}/${id}/${command}`,
  entryCommand: (id: number, entryId: number, command: 'retry' | 'skip') => `${PLANNER_BASE}/${id}/entries/${entryId}/${command}`,
};
