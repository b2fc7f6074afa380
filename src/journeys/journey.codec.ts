/**
 * How a journey is stored: TriggerType in its own column, the rest of the
 * trigger as JSON in TriggerSettings (`{"listIds":[3,4]}`, `{"emailIds":"any"}`,
 * `{}` for manual), and the action tree as JSON in Actions. Pure functions, so
 * the runtime can read journey rows the same way without importing this module.
 */
import type { Action, JourneyDefinition, JourneyGoal, JourneyStatus, ReEntryRule, Trigger, TriggerType } from '../engine/journey.types';

export interface JourneyRowFields {
  JourneyID: number;
  RelOwnerUserID: number;
  Name: string;
  TriggerType: string;
  TriggerSettings: string;
  Status: JourneyStatus;
  ReEntry: ReEntryRule;
  Actions: string;
  /** JSON of the goal; NULL (or absent in older rows) for none. */
  Goal?: string | null;
  Version: number;
}

export function encodeTrigger(trigger: Trigger): { TriggerType: TriggerType; TriggerSettings: string } {
  const { type, ...settings } = trigger;
  return { TriggerType: type, TriggerSettings: JSON.stringify(settings) };
}

export function decodeTrigger(triggerType: string, triggerSettings: string): Trigger {
  const settings = parseJson(triggerSettings, {}) as Record<string, unknown>;
  // The column is the truth for the type, whatever the JSON says.
  return { ...settings, type: triggerType } as Trigger;
}

export function encodeActions(actions: Action[]): string {
  return JSON.stringify(actions);
}

export function decodeActions(json: string): Action[] {
  const parsed = parseJson(json, []);
  return Array.isArray(parsed) ? (parsed as Action[]) : [];
}

export function encodeGoal(goal: JourneyGoal | null | undefined): string | null {
  return goal ? JSON.stringify(goal) : null;
}

export function decodeGoal(json: string | null | undefined): JourneyGoal | null {
  if (!json) return null;
  const parsed = parseJson(json, null);
  return parsed && typeof parsed === 'object' ? (parsed as JourneyGoal) : null;
}

export function toDefinition(row: JourneyRowFields): JourneyDefinition {
  return {
    journeyId: Number(row.JourneyID),
    ownerUserId: Number(row.RelOwnerUserID),
    name: row.Name,
    status: row.Status,
    reEntry: row.ReEntry,
    trigger: decodeTrigger(row.TriggerType, row.TriggerSettings),
    actions: decodeActions(row.Actions),
    version: Number(row.Version),
    goal: decodeGoal(row.Goal),
  };
}

function parseJson(text: string, fallback: unknown): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}
