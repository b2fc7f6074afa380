/**
 * The Action Planner form without JavaScript.
 *
 * The page posts the whole draft tree every time:
 *  - `tree`: the shape as JSON of ids only, e.g. `[{"id":"a1"},{"id":"c1","yes":[{"id":"a2"}],"no":[]}]`
 *    (written by the server, rewritten by planner.js before it submits);
 *  - `a.<id>.type` and `a.<id>.<setting>`: each action's settings as ordinary fields;
 *  - `op`: which button was pressed: `save`, `add:<slot>:<type>`, `up:<id>`,
 *    `down:<id>`, `remove:<id>`, `add-rule:<id>`, `remove-rule:<id>:<n>`; `save-confirmed` (or
 *    `confirmed=1`) once the user has seen how many subscribers a live save affects.
 * Editing operations return a new draft that the page re-renders unsaved;
 * only `save` goes to the journeys service, which validates the whole tree.
 */
import { randomBytes } from 'node:crypto';
import { isActionType } from '../../engine/action-registry';
import type { ActionType } from '../../engine/journey.types';
import { many, numeric, text, type FormBody } from './form-values';

export interface DraftAction {
  id: string;
  type: string;
  settings: Record<string, unknown>;
  yes?: DraftAction[];
  no?: DraftAction[];
}

export interface DraftRule {
  attribute: string;
  operator: string;
  value?: string;
  emailIds?: unknown;
}

interface TreeNode {
  id: string;
  yes?: TreeNode[];
  no?: TreeNode[];
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_ACTIONS = 500;

export function newActionId(): string {
  return `a${randomBytes(5).toString('hex')}`;
}

/** The draft tree a planner form describes. */
export function draftFromForm(body: FormBody): DraftAction[] {
  let shape: unknown;
  try {
    shape = JSON.parse(text(body, 'tree') || '[]');
  } catch {
    shape = [];
  }
  const seen = new Set<string>();
  const build = (nodes: unknown): DraftAction[] => {
    if (!Array.isArray(nodes)) return [];
    const out: DraftAction[] = [];
    for (const node of nodes as TreeNode[]) {
      if (seen.size >= MAX_ACTIONS || !node || typeof node.id !== 'string' || !ID_PATTERN.test(node.id) || seen.has(node.id)) continue;
      seen.add(node.id);
      const type = text(body, `a.${node.id}.type`);
      const action: DraftAction = { id: node.id, type, settings: settingsFromForm(body, node.id, type) };
      if (type === 'condition') {
        action.yes = build(node.yes);
        action.no = build(node.no);
      }
      out.push(action);
    }
    return out;
  };
  return build(shape);
}

function settingsFromForm(body: FormBody, id: string, type: string): Record<string, unknown> {
  const field = (name: string) => text(body, `a.${id}.${name}`);
  switch (type) {
    case 'wait': {
      const window: Record<string, unknown> = {};
      if (field('notBefore')) window.notBefore = field('notBefore');
      if (field('notAfter')) window.notAfter = field('notAfter');
      const weekdays = many(body, `a.${id}.weekdays`).map(numeric);
      // All seven days (or none) ticked means no weekday restriction.
      if (weekdays.length > 0 && weekdays.length < 7) window.weekdays = weekdays;
      return { amount: numeric(field('amount')), unit: field('unit'), ...(Object.keys(window).length ? { window } : {}) };
    }
    case 'condition':
      return { match: field('match') === 'any' ? 'any' : 'all', rules: rulesFromForm(body, id) };
    case 'start_journey':
      return { journeyId: numeric(field('journeyId')) };
    case 'exit_journey':
      return { journeyIds: many(body, `a.${id}.journeyIds`).map(numeric) };
    case 'subscribe':
    case 'unsubscribe':
      return { listId: numeric(field('listId')) };
    case 'update_custom_field': {
      const raw = body[`a.${id}.value`];
      return { fieldId: numeric(field('fieldId')), value: typeof raw === 'string' ? raw : '' };
    }
    case 'webhook': {
      const headers = headersFromText(typeof body[`a.${id}.headers`] === 'string' ? (body[`a.${id}.headers`] as string) : '');
      return {
        url: field('url'),
        method: field('method') || 'POST',
        ...(Object.keys(headers).length ? { headers } : {}),
        includeCustomFields: field('includeCustomFields') === '1',
      };
    }
    default:
      return {};
  }
}

function rulesFromForm(body: FormBody, id: string): DraftRule[] {
  const prefix = `a.${id}.rule.`;
  const indexes = new Set<number>();
  for (const key of Object.keys(body)) {
    if (!key.startsWith(prefix)) continue;
    const n = Number(key.slice(prefix.length).split('.')[0]);
    if (Number.isInteger(n) && n >= 0 && n < 100) indexes.add(n);
  }
  return [...indexes]
    .sort((a, b) => a - b)
    .map((n) => {
      const field = (name: string) => text(body, `${prefix}${n}.${name}`);
      const rule: DraftRule = { attribute: field('attribute'), operator: field('operator') };
      if (field('value') !== '' && rule.operator !== 'is_set' && rule.operator !== 'is_not_set') rule.value = field('value');
      if (rule.attribute === 'Opens' || rule.attribute === 'Clicks') {
        const emails = field('emails');
        rule.emailIds = emails === '' || emails === 'any' ? 'any' : [numeric(emails)];
      }
      return rule;
    });
}

/** "Name: value" per line. */
export function headersFromText(value: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of value.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    if (name) headers[name] = line.slice(colon + 1).trim();
  }
  return headers;
}

export function headersToText(headers: unknown): string {
  if (!headers || typeof headers !== 'object') return '';
  return Object.entries(headers as Record<string, unknown>)
    .map(([name, value]) => `${name}: ${String(value)}`)
    .join('\n');
}

/** Settings a freshly added action starts with. */
export function newAction(type: ActionType, id = newActionId()): DraftAction {
  switch (type) {
    case 'wait':
      return { id, type, settings: { amount: 1, unit: 'days' } };
    case 'condition':
      return { id, type, settings: { match: 'all', rules: [blankRule()] }, yes: [], no: [] };
    case 'webhook':
      return { id, type, settings: { url: 'https://', method: 'POST', includeCustomFields: true } };
    case 'exit_journey':
      return { id, type, settings: { journeyIds: [] } };
    case 'update_custom_field':
      return { id, type, settings: { value: '' } };
    default:
      return { id, type, settings: {} };
  }
}

function blankRule(): DraftRule {
  return { attribute: 'EmailAddress', operator: 'contains', value: '' };
}

export type PlannerOp =
  | { kind: 'save'; confirmed: boolean }
  | { kind: 'add'; slot: Slot; type: ActionType }
  | { kind: 'up' | 'down' | 'remove' | 'add-rule'; id: string }
  | { kind: 'remove-rule'; id: string; rule: number };

/** Where a new action goes: first of the main flow, after an action, or first of a branch. */
export type Slot = { at: 'root' } | { at: 'after'; id: string } | { at: 'yes' | 'no'; id: string };

export function opFromForm(body: FormBody): PlannerOp {
  const op = text(body, 'op');
  const [kind, ...rest] = op.split(':');
  if (kind === 'add' && rest.length === 2 && isActionType(rest[1])) {
    const slot = slotFrom(rest[0]);
    if (slot) return { kind: 'add', slot, type: rest[1] };
  }
  if ((kind === 'up' || kind === 'down' || kind === 'remove' || kind === 'add-rule') && rest.length === 1) return { kind, id: rest[0] };
  if (kind === 'remove-rule' && rest.length === 2 && /^\d+$/.test(rest[1])) return { kind, id: rest[0], rule: Number(rest[1]) };
  return { kind: 'save', confirmed: op === 'save-confirmed' || text(body, 'confirmed') === '1' };
}

function slotFrom(value: string): Slot | null {
  if (value === 'root') return { at: 'root' };
  const [at, id] = value.split('.');
  if ((at === 'after' || at === 'yes' || at === 'no') && id && ID_PATTERN.test(id)) return { at, id };
  return null;
}

/** Applies an editing operation to a draft (a new tree; the input is left alone). */
export function applyOp(tree: DraftAction[], op: Exclude<PlannerOp, { kind: 'save' }>, makeId: () => string = newActionId): DraftAction[] {
  const copy = structuredClone(tree);
  const located = 'id' in op ? locate(copy, op.id) : undefined;
  switch (op.kind) {
    case 'add': {
      const action = newAction(op.type, makeId());
      if (op.slot.at === 'root') {
        copy.unshift(action);
        return copy;
      }
      const at = locate(copy, op.slot.id);
      if (!at) return copy;
      if (op.slot.at === 'after') at.list.splice(at.index + 1, 0, action);
      else if (at.action.type === 'condition') (at.action[op.slot.at] ??= []).unshift(action);
      return copy;
    }
    case 'up':
    case 'down': {
      if (!located) return copy;
      const to = located.index + (op.kind === 'up' ? -1 : 1);
      if (to < 0 || to >= located.list.length) return copy;
      [located.list[located.index], located.list[to]] = [located.list[to], located.list[located.index]];
      return copy;
    }
    case 'remove':
      located?.list.splice(located.index, 1);
      return copy;
    case 'add-rule':
      if (located?.action.type === 'condition') {
        const rules = Array.isArray(located.action.settings.rules) ? located.action.settings.rules : [];
        located.action.settings.rules = [...rules, blankRule()];
      }
      return copy;
    case 'remove-rule':
      if (located?.action.type === 'condition' && Array.isArray(located.action.settings.rules)) {
        located.action.settings.rules = located.action.settings.rules.filter((_: unknown, i: number) => i !== op.rule);
      }
      return copy;
  }
}

function locate(tree: DraftAction[], id: string): { list: DraftAction[]; index: number; action: DraftAction } | undefined {
  for (let index = 0; index < tree.length; index++) {
    const action = tree[index];
    if (action.id === id) return { list: tree, index, action };
    const inside = (action.yes && locate(action.yes, id)) || (action.no && locate(action.no, id));
    if (inside) return inside;
  }
  return undefined;
}

export function treeShape(tree: DraftAction[]): TreeNode[] {
  return tree.map((action) =>
    action.type === 'condition' ? { id: action.id, yes: treeShape(action.yes ?? []), no: treeShape(action.no ?? []) } : { id: action.id },
  );
}
