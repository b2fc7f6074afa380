/**
 * The Action Planner form without JavaScript.
 *
 * The page posts the whole draft tree every time:
 *  - `tree`: the shape as JSON of ids only, branches where the action keeps them, e.g.
 *    `[{"id":"a1"},{"id":"c1","yes":[{"id":"a2"}],"no":[]},…]`, a split's as `"paths":[[…],[…]]`
 *    (written by the server, rewritten by planner.js before it submits);
 *  - `a.<id>.type` and `a.<id>.<setting>`: each action's settings as ordinary fields;
 *  - `op`: which button was pressed: `save`, `add:<slot>:<type>`, `up:<id>`, `down:<id>`,
 *    `remove:<id>`, `add-rule:<id>`, `remove-rule:<id>:<n>`, `add-path:<id>`, `remove-path:<id>:<n>`;
 *    `save-confirmed` (or `confirmed=1`) once the user has seen how many subscribers a live save affects.
 * A slot is `root`, `after.<id>` or `<branch>.<id>`, the branch named as `branchesOf()` names it
 * (`yes`, `no`, `path1`…). Editing operations return a new draft that the page re-renders
 * unsaved; only `save` goes to the journeys service, which validates the whole tree.
 */
import { randomBytes } from 'node:crypto';
import { isActionType } from '../../engine/action-registry';
import type { ActionType } from '../../engine/journey.types';
import { MAX_SPLIT_PATHS, MIN_SPLIT_PATHS } from '../../engine/journey.types';
import { blankRule, evenPercents, newAction, settingsFromForm } from './action-settings.form';
import { branchKeysOf, draftBranches, isBranchKey, locate, readBranch, sendersBefore, writeBranch, type DraftAction } from './draft-tree';
import { numeric, text, type FormBody } from './form-values';

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_ACTIONS = 500;

export function newActionId(): string {
  return `a${randomBytes(5).toString('hex')}`;
}

/** The journey version the planner page was built from (a save is refused when the journey changed since). */
export function expectedVersion(body: FormBody): number | undefined {
  const version = numeric(text(body, 'version'));
  return typeof version === 'number' && Number.isSafeInteger(version) ? version : undefined;
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
    for (const node of nodes as { id?: unknown; yes?: unknown; no?: unknown; paths?: unknown }[]) {
      if (seen.size >= MAX_ACTIONS || !node || typeof node.id !== 'string' || !ID_PATTERN.test(node.id) || seen.has(node.id)) continue;
      seen.add(node.id);
      const type = text(body, `a.${node.id}.type`);
      const action: DraftAction = { id: node.id, type, settings: settingsFromForm(body, node.id, type) };
      for (const key of branchKeysOf(type, pathCount(action, node.paths))) writeBranch(action, key, build(readBranch(node, key)));
      out.push(action);
    }
    return out;
  };
  return build(shape);
}

/** A split has a path per percentage (and keeps any path the shape has beyond them, for the validator to name), at most twice the limit. */
function pathCount(action: DraftAction, shapePaths: unknown): number {
  const percents = Array.isArray(action.settings.percents) ? action.settings.percents.length : 0;
  return Math.min(MAX_SPLIT_PATHS * 2, Math.max(percents, Array.isArray(shapePaths) ? shapePaths.length : 0));
}

export type PlannerOp =
  | { kind: 'save'; confirmed: boolean }
  | { kind: 'add'; slot: Slot; type: ActionType }
  | { kind: 'up' | 'down' | 'remove' | 'add-rule' | 'add-path'; id: string }
  | { kind: 'remove-rule'; id: string; rule: number }
  | { kind: 'remove-path'; id: string; path: number };

/** Where a new action goes: first of the main flow, after an action, or first of one of an action's branches. */
export type Slot = { at: 'root' } | { at: 'after'; id: string } | { at: 'branch'; branch: string; id: string };

export function opFromForm(body: FormBody): PlannerOp {
  const op = text(body, 'op');
  const [kind, ...rest] = op.split(':');
  if (kind === 'add' && rest.length === 2 && isActionType(rest[1])) {
    const slot = slotFrom(rest[0]);
    if (slot) return { kind: 'add', slot, type: rest[1] };
  }
  const oneId = ['up', 'down', 'remove', 'add-rule', 'add-path'] as const;
  const single = oneId.find((k) => k === kind);
  if (single && rest.length === 1) return { kind: single, id: rest[0] };
  if ((kind === 'remove-rule' || kind === 'remove-path') && rest.length === 2 && /^\d{1,2}$/.test(rest[1])) {
    return kind === 'remove-rule' ? { kind, id: rest[0], rule: Number(rest[1]) } : { kind, id: rest[0], path: Number(rest[1]) };
  }
  return { kind: 'save', confirmed: op === 'save-confirmed' || text(body, 'confirmed') === '1' };
}

function slotFrom(value: string): Slot | null {
  if (value === 'root') return { at: 'root' };
  const [at, id] = value.split('.');
  if (!id || !ID_PATTERN.test(id)) return null;
  if (at === 'after') return { at, id };
  return isBranchKey(at) ? { at: 'branch', branch: at, id } : null;
}

/** Applies an editing operation to a draft (a new tree; the input is left alone). */
export function applyOp(tree: DraftAction[], op: Exclude<PlannerOp, { kind: 'save' }>, makeId: () => string = newActionId): DraftAction[] {
  const copy = structuredClone(tree);
  const located = 'id' in op ? locate(copy, op.id) : undefined;
  switch (op.kind) {
    case 'add': {
      const action = newAction(op.type, makeId());
      if (op.slot.at === 'root') copy.unshift(action);
      else {
        const at = locate(copy, op.slot.id);
        if (!at) return copy;
        if (op.slot.at === 'after') at.list.splice(at.index + 1, 0, action);
        else {
          const branch = op.slot.branch;
          draftBranches(at.action)
            .find((b) => b.key === branch)
            ?.actions.unshift(action);
        }
      }
      if (action.type === 'wait_for_event') waitForNearestSender(copy, action);
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
    case 'add-path':
      if (located?.action.type === 'random_split') resizeSplit(located.action, (paths) => (paths.length < MAX_SPLIT_PATHS ? [...paths, []] : paths));
      return copy;
    case 'remove-path':
      if (located?.action.type === 'random_split') {
        resizeSplit(located.action, (paths) => (paths.length > MIN_SPLIT_PATHS && op.path < paths.length ? paths.filter((_, i) => i !== op.path) : paths));
      }
      return copy;
  }
}

/** Adds or removes a path of a split; when the count changes, the percentages are shared evenly again (so they add up to 100). */
function resizeSplit(split: DraftAction, change: (paths: DraftAction[][]) => DraftAction[][]): void {
  const before = split.paths ?? [];
  const after = change(before);
  if (after.length === before.length) return;
  split.paths = after;
  split.settings = { ...split.settings, percents: evenPercents(after.length) };
}

/** A Wait for event added after a Send Email waits for that email by default (the nearest one before it). */
function waitForNearestSender(tree: DraftAction[], action: DraftAction): void {
  const nearest = sendersBefore(tree, action.id).at(-1);
  const event = action.settings.event as Record<string, unknown> | undefined;
  if (nearest && event) action.settings = { ...action.settings, event: { ...event, emailIds: { sentBy: nearest.id } } };
}
