/**
 * Validation of what a form or the API sends: an action tree and a trigger.
 * Returns every violation at once (the planner shows them all next to their
 * actions), never throws, and never trusts a key it does not know.
 */
import type { Violation } from './validation.types';
import { ACTION_REGISTRY, isActionType } from './action-registry';
import { unknownEmailIds, unknownListIds } from './action-settings';
import { pathLetter, readConversionExtras, readLink, readSelection } from './event-settings';
import { allActions, findAction, runsBefore } from './action-tree';
import type { Action, ConditionAction, RandomSplitAction, Trigger, TriggerType, WaitForEventAction } from './journey.types';
import { TRIGGER_TYPES, assertNever } from './journey.types';
import { isRecord, readKeyword, readText } from './raw-input';
import type { Report, ValidationContext, ViolationCode } from './validation.types';

export const MAX_ACTIONS = 500;
/** Nesting of Yes/No branches; also keeps recursion far from the stack limit on hostile input. */
export const MAX_BRANCH_DEPTH = 32;
const ACTION_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

export interface ParsedActions {
  /** Only to be saved when `violations` is empty; otherwise a best effort for showing the form again. */
  actions: Action[];
  violations: Violation[];
}

interface ParseState {
  ctx: ValidationContext;
  violations: Violation[];
  seenIds: Set<string>;
  /** Ids written in the input, so generated ids never collide with one further on. */
  givenIds: Set<string>;
  newId: () => string;
  count: number;
  tooMany: boolean;
}

function violation(code: ViolationCode, actionId: string | null, message: string): Violation {
  return { code, actionId, message };
}

function collectGivenIds(input: unknown, into: Set<string>, depth = 0): void {
  if (!Array.isArray(input) || depth > MAX_BRANCH_DEPTH) return;
  for (const item of input) {
    if (!isRecord(item)) continue;
    const id = readText(item.id);
    if (id !== null) into.add(id.trim());
    collectGivenIds(item.yes, into, depth + 1);
    collectGivenIds(item.no, into, depth + 1);
    if (Array.isArray(item.paths)) for (const path of item.paths) collectGivenIds(path, into, depth + 1);
  }
}

function freshId(state: ParseState): string {
  for (let attempt = 0; attempt < 100; attempt++) {
    const id = state.newId();
    if (!state.seenIds.has(id) && !state.givenIds.has(id)) return id;
  }
  throw new Error('newId() keeps returning ids already in use');
}

function readActionId(raw: Record<string, unknown>, state: ParseState): string {
  if (raw.id === undefined || raw.id === null || raw.id === '') return freshId(state);
  const text = readText(raw.id)?.trim() ?? null;
  if (text !== null && ACTION_ID.test(text)) {
    if (state.seenIds.has(text)) {
      state.violations.push(violation('duplicate_id', text, `Action id "${text}" is used by more than one action`));
      return text;
    }
    return text;
  }
  const id = freshId(state);
  state.violations.push(violation('invalid_id', id, 'Action id must be 1–64 letters, digits, "_", "-", "." or ":"'));
  return id;
}

function parseBranch(raw: unknown, name: string, conditionId: string, state: ParseState, depth: number): Action[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    state.violations.push(violation('not_a_list', conditionId, `The ${name} branch must be a list of actions`));
    return [];
  }
  return parseList(raw, state, depth + 1);
}

function parseAction(raw: unknown, position: number, state: ParseState, depth: number): Action | null {
  if (!isRecord(raw)) {
    state.violations.push(violation('not_an_object', null, `Action ${position} must be an object with a type and settings`));
    return null;
  }
  const id = readActionId(raw, state);
  state.seenIds.add(id);
  const report: Report = (code, message) => state.violations.push(violation(code, id, message));
  const typeText = readKeyword(raw.type);
  if (!isActionType(typeText)) {
    report('unknown_type', `Unknown action type "${typeof raw.type === 'string' ? raw.type : String(raw.type ?? '')}"`);
    return null;
  }
  if (raw.settings !== undefined && raw.settings !== null && !isRecord(raw.settings)) report('invalid_settings', 'Settings must be an object');
  const rawSettings = isRecord(raw.settings) ? raw.settings : {};
  return buildAction(typeText, id, rawSettings, raw, report, state, depth);
}

/** Exhaustive over the types so each action is built with its own settings type. */
function buildAction(
  type: Action['type'],
  id: string,
  rawSettings: Record<string, unknown>,
  raw: Record<string, unknown>,
  report: Report,
  state: ParseState,
  depth: number,
): Action {
  const { ctx } = state;
  switch (type) {
    case 'condition': {
      const settings = ACTION_REGISTRY.condition.parseSettings(rawSettings, ctx, report);
      const yes = parseBranch(raw.yes, 'Yes', id, state, depth);
      const no = parseBranch(raw.no, 'No', id, state, depth);
      return { id, type, settings, yes, no } satisfies ConditionAction;
    }
    case 'wait':
      return { id, type, settings: ACTION_REGISTRY.wait.parseSettings(rawSettings, ctx, report) };
    case 'start_journey':
      return { id, type, settings: ACTION_REGISTRY.start_journey.parseSettings(rawSettings, ctx, report) };
    case 'exit_journey':
      return { id, type, settings: ACTION_REGISTRY.exit_journey.parseSettings(rawSettings, ctx, report) };
    case 'exit_this_journey':
      return { id, type, settings: ACTION_REGISTRY.exit_this_journey.parseSettings(rawSettings, ctx, report) };
    case 'exit_all_other_journeys':
      return { id, type, settings: ACTION_REGISTRY.exit_all_other_journeys.parseSettings(rawSettings, ctx, report) };
    case 'subscribe':
      return { id, type, settings: ACTION_REGISTRY.subscribe.parseSettings(rawSettings, ctx, report) };
    case 'unsubscribe':
      return { id, type, settings: ACTION_REGISTRY.unsubscribe.parseSettings(rawSettings, ctx, report) };
    case 'update_custom_field':
      return { id, type, settings: ACTION_REGISTRY.update_custom_field.parseSettings(rawSettings, ctx, report) };
    case 'webhook':
      return { id, type, settings: ACTION_REGISTRY.webhook.parseSettings(rawSettings, ctx, report) };
    case 'send_email':
      return { id, type, settings: ACTION_REGISTRY.send_email.parseSettings(rawSettings, ctx, report) };
    case 'wait_for_event': {
      const settings = ACTION_REGISTRY.wait_for_event.parseSettings(rawSettings, ctx, report);
      const yes = parseBranch(raw.yes, 'Yes', id, state, depth);
      const no = parseBranch(raw.no, 'No', id, state, depth);
      return { id, type, settings, yes, no } satisfies WaitForEventAction;
    }
    case 'random_split': {
      const settings = ACTION_REGISTRY.random_split.parseSettings(rawSettings, ctx, report);
      const rawPaths = raw.paths === undefined || raw.paths === null ? [] : raw.paths;
      if (!Array.isArray(rawPaths)) report('not_a_list', 'The paths of a Random split must be a list of lists of actions');
      const given = Array.isArray(rawPaths) ? rawPaths.slice(0, settings.percents.length) : [];
      if (Array.isArray(rawPaths) && rawPaths.length > settings.percents.length) {
        report('invalid_split', `The split has ${rawPaths.length} paths but ${settings.percents.length} percentages`);
      }
      // One path per percentage; a path not given is empty (the journey ends there for its share).
      const paths = settings.percents.map((_, i) => parseBranch(given[i], `Path ${pathLetter(i)}`, id, state, depth));
      return { id, type, settings, paths } satisfies RandomSplitAction;
    }
    default:
      return assertNever(type, 'action type');
  }
}

function parseList(raw: unknown[], state: ParseState, depth: number): Action[] {
  if (depth > MAX_BRANCH_DEPTH) {
    state.violations.push(violation('too_deep', null, `Yes/No branches may be nested at most ${MAX_BRANCH_DEPTH} deep`));
    return [];
  }
  const actions: Action[] = [];
  for (const [index, item] of raw.entries()) {
    if (state.count >= MAX_ACTIONS) {
      if (!state.tooMany) state.violations.push(violation('too_many_actions', null, `A journey may have at most ${MAX_ACTIONS} actions`));
      state.tooMany = true;
      break;
    }
    state.count++;
    const action = parseAction(item, index + 1, state, depth);
    if (action) actions.push(action);
  }
  reportActionsAfterConditions(actions, state);
  return actions;
}

/** Branches never rejoin, so whatever follows a branching action in the same list could never run. */
function reportActionsAfterConditions(actions: Action[], state: ParseState): void {
  actions.forEach((action, index) => {
    const following = actions.length - index - 1;
    if (ACTION_REGISTRY[action.type].branches && following > 0) {
      const label = ACTION_REGISTRY[action.type].label;
      const into = action.type === 'random_split' ? 'one of its paths' : 'its Yes or No branch';
      state.violations.push(
        violation(
          'unreachable_actions',
          action.id,
          `${following} action${following === 1 ? '' : 's'} after this ${label} would never run; move ${following === 1 ? 'it' : 'them'} into ${into}`,
        ),
      );
    }
  });
}

/** A Wait for event on "the email a Send Email action sent" must name a Send Email action that runs before it. */
function reportSendEmailReferences(actions: Action[], state: ParseState): void {
  for (const action of allActions(actions)) {
    if (action.type !== 'wait_for_event') continue;
    const target = action.settings.event.emailIds;
    if (target === 'any' || Array.isArray(target)) continue;
    const sender = findAction(actions, target.sentBy);
    if (sender?.type !== 'send_email') {
      state.violations.push(violation('unknown_action', action.id, `Wait for event: "${target.sentBy}" is not a Send Email action of this journey`));
    } else if (!runsBefore(actions, sender.id, action.id)) {
      state.violations.push(violation('unknown_action', action.id, `Wait for event: the Send Email action "${sender.id}" does not run before this action`));
    }
  }
}

/**
 * Reads an action tree from raw JSON: known keys only, form values coerced,
 * ids given to actions without one (via newId), and every violation listed.
 */
export function parseActions(input: unknown, ctx: ValidationContext, newId: () => string): ParsedActions {
  if (!Array.isArray(input)) {
    return { actions: [], violations: [violation('not_a_list', null, 'Actions must be a list')] };
  }
  const givenIds = new Set<string>();
  collectGivenIds(input, givenIds);
  const state: ParseState = { ctx, violations: [], seenIds: new Set(), givenIds, newId, count: 0, tooMany: false };
  const actions = parseList(input, state, 0);
  reportSendEmailReferences(actions, state);
  return { actions, violations: state.violations };
}

/* ---------- triggers ---------- */

export interface ParsedTrigger {
  trigger?: Trigger;
  violations: Violation[];
}

function buildTrigger(
  type: TriggerType,
  raw: Record<string, unknown>,
  ctx: ValidationContext,
  report: (code: ViolationCode, message: string) => void,
): Trigger {
  const lists = (value: unknown) => readSelection(value, 'list', (selection) => unknownListIds(ctx, selection), report, 'invalid_trigger');
  const emails = (value: unknown) => readSelection(value, 'email', (selection) => unknownEmailIds(ctx, selection), report, 'invalid_trigger');
  switch (type) {
    case 'subscription':
    case 'unsubscription':
      return { type, listIds: lists(raw.listIds) };
    case 'email_opened':
      return { type, emailIds: emails(raw.emailIds) };
    case 'conversion':
      return { type, emailIds: emails(raw.emailIds), ...readConversionExtras(raw, report, 'invalid_trigger') };
    case 'link_clicked': {
      const link = readLink(raw.link, report, 'invalid_trigger');
      return link ? { type, emailIds: emails(raw.emailIds), link } : { type, emailIds: emails(raw.emailIds) };
    }
    case 'manual':
      return { type };
    default:
      return assertNever(type, 'trigger type');
  }
}

/** Reads a trigger from raw JSON; `trigger` is present only when there is no violation. */
export function validateTrigger(input: unknown, ctx: ValidationContext): ParsedTrigger {
  const violations: Violation[] = [];
  const report = (code: ViolationCode, message: string) => violations.push(violation(code, null, message));
  if (!isRecord(input)) {
    report('invalid_trigger', 'Trigger must be an object with a type');
    return { violations };
  }
  const typeText = readKeyword(input.type);
  const type = TRIGGER_TYPES.find((candidate) => candidate === typeText);
  if (!type) {
    report('unknown_trigger_type', `Unknown trigger type "${String(input.type ?? '')}"; use one of ${TRIGGER_TYPES.join(', ')}`);
    return { violations };
  }
  const trigger = buildTrigger(type, input, ctx, report);
  return violations.length > 0 ? { violations } : { trigger, violations };
}

/* ---------- Start Journey loops ---------- */

export interface StartJourneyCycle {
  /** The journeys of the loop, starting and ending with the journey being saved, e.g. [1, 4, 7, 1]. */
  path: number[];
  /** The Start Journey action of the journey being saved where the loop leaves it. */
  actionId: string;
}

function startTargets(actions: readonly Action[]): { actionId: string; journeyId: number }[] {
  return allActions(actions).flatMap((action) => (action.type === 'start_journey' ? [{ actionId: action.id, journeyId: action.settings.journeyId }] : []));
}

/**
 * Static loop check at save: a chain of Start Journey actions that leads back
 * to this journey (using the actions about to be saved for this one and the
 * saved actions of the others). Returns the shortest such loop, or null.
 * A Start Journey of this journey itself is left out: the settings check
 * reports it as start_journey_self.
 * A loop is not always endless at run time (re-entry rules may stop it) but
 * it is never what a user means, so the caller refuses the save.
 */
export function findStartJourneyCycles(
  journeyId: number,
  actions: readonly Action[],
  otherJourneys: readonly { journeyId: number; actions: readonly Action[] }[],
): StartJourneyCycle | null {
  const edges = new Map<number, number[]>();
  for (const other of otherJourneys) {
    if (other.journeyId !== journeyId)
      edges.set(
        other.journeyId,
        startTargets(other.actions).map((target) => target.journeyId),
      );
  }
  let best: StartJourneyCycle | null = null;
  // A Start Journey of the journey itself is the start_journey_self violation already; a "loop 1 → 1" would say it twice.
  for (const start of startTargets(actions).filter((target) => target.journeyId !== journeyId)) {
    const route = shortestRoute(start.journeyId, journeyId, edges);
    if (route && (!best || route.length + 1 < best.path.length)) best = { path: [journeyId, ...route], actionId: start.actionId };
  }
  return best;
}

/** Breadth-first: the journeys from `from` to `to` (both included), or null. */
function shortestRoute(from: number, to: number, edges: ReadonlyMap<number, number[]>): number[] | null {
  const cameFrom = new Map<number, number | null>([[from, null]]);
  const queue = [from];
  while (queue.length > 0) {
    const current = queue.shift()!;
    if (current === to) {
      const route: number[] = [];
      for (let at: number | null = current; at !== null; at = cameFrom.get(at) ?? null) route.unshift(at);
      return route;
    }
    for (const next of edges.get(current) ?? []) {
      if (!cameFrom.has(next)) {
        cameFrom.set(next, current);
        queue.push(next);
      }
    }
  }
  return null;
}

/** The loop as a violation for the planner, or none. */
export function startJourneyCycleViolations(
  journeyId: number,
  actions: readonly Action[],
  otherJourneys: readonly { journeyId: number; actions: readonly Action[] }[],
): Violation[] {
  const cycle = findStartJourneyCycles(journeyId, actions, otherJourneys);
  if (!cycle) return [];
  return [violation('start_journey_cycle', cycle.actionId, `Start Journey makes a loop: journey ${cycle.path.join(' → ')}`)];
}
