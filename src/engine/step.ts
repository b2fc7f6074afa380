/**
 * The pure step: given a journey, where an entry stands and the subscriber's
 * facts, run the instant actions one after another and say where the entry
 * stops. No I/O and no clock: `now` comes in, effects and an outcome go out.
 *
 * - Instant actions (condition, update_custom_field, start_journey,
 *   exit_journey, exit_all_other_journeys) run in this call and are listed in
 *   `ran`; the ones that change something add a LocalEffect.
 * - A Wait stops the walk with its wake time; it is listed in `ran` when the
 *   entry starts waiting (resuming after it does not list it again).
 * - An external action (subscribe, unsubscribe, webhook) stops the walk
 *   *before* it runs: it is not in `ran`. The runtime claims it, carries it
 *   out, logs it with its own result, then resumes `{ from: 'after', actionId }`.
 * - The end of the list the walk is in completes the journey (branches never
 *   rejoin the list their condition is in).
 * - Resuming after an action the tree no longer has (a live edit removed it)
 *   exits with ACTION_REMOVED_REASON and the removed id.
 * - An action that cannot be judged (activity not loaded, bad time zone) fails
 *   the entry at that action with the message, ready for retry or skip.
 */
import { isExternalAction, type InstantAction } from './action-registry';
import { actionPath, allActions, findAction } from './action-tree';
import { awaitedEventIn, goalMet } from './goals';
import { evaluateCondition } from './conditions';
import type { Action } from './journey.types';
import { assertNever } from './journey.types';
import { resolveMergeTags } from './merge-tags';
import { computeWakeAt } from './send-window';
import type { StepFacts } from './host-facts.types';
import type { LocalEffect, RanAction, StepInput, StepOutcome, StepResult, StepStart } from './step.types';

export const ACTION_REMOVED_REASON = 'action removed by an edit';
export const EXIT_THIS_JOURNEY_REASON = 'Exit This Journey';
export const EXIT_JOURNEY_REASON = 'Exit Journey';
export const DEFAULT_MAX_ACTIONS = 1000;

interface Cursor {
  list: readonly Action[];
  index: number;
}

/** What running one action decides. */
type Move = { kind: 'next' } | { kind: 'enter'; list: readonly Action[] } | { kind: 'stop'; outcome: StepOutcome };

interface ActionRun {
  ran?: RanAction;
  effect?: LocalEffect;
  move: Move;
  /** Facts as they are after this action (an Update Custom Field changes what later conditions see). */
  facts?: StepFacts;
}

/** The position right after an action, or null when the tree no longer has it. */
function cursorAfter(actions: readonly Action[], actionId: string): Cursor | null {
  const path = actionPath(actions, actionId);
  if (!path) return null;
  const own = path[path.length - 1];
  return { list: own.list, index: own.index + 1 };
}

function startCursor(actions: readonly Action[], start: StepStart): Cursor | null {
  switch (start.from) {
    case 'beginning':
      return { list: actions, index: 0 };
    case 'after':
    case 'waiting': {
      return cursorAfter(actions, start.actionId);
    }
    default:
      return assertNever(start, 'step start');
  }
}

function withCustomField(facts: StepFacts, fieldId: number, value: string): StepFacts {
  const subscriber = { ...facts.subscriber, customFields: { ...facts.subscriber.customFields, [fieldId]: value } };
  return { ...facts, subscriber };
}

function runAction(action: Action, input: StepInput, facts: StepFacts): ActionRun {
  // External actions stop the walk before they run: the runtime claims and carries them out.
  if (isExternalAction(action)) return { move: { kind: 'stop', outcome: { kind: 'external', action } } };
  return runInstant(action, input, facts);
}

function runInstant(action: InstantAction, input: StepInput, facts: StepFacts): ActionRun {
  const ran = (result?: string): RanAction =>
    result === undefined ? { actionId: action.id, type: action.type } : { actionId: action.id, type: action.type, result };
  switch (action.type) {
    case 'wait': {
      const { amount, unit, window } = action.settings;
      const wakeAt = computeWakeAt(input.now, amount, unit, window, facts.timeZone);
      return { ran: ran(wakeAt.toISOString()), move: { kind: 'stop', outcome: { kind: 'wait', actionId: action.id, wakeAt } } };
    }
    case 'condition': {
      const yes = evaluateCondition(action.settings, facts);
      return { ran: ran(yes ? 'yes' : 'no'), move: { kind: 'enter', list: yes ? action.yes : action.no } };
    }
    case 'update_custom_field': {
      const value = resolveMergeTags(action.settings.value, facts.subscriber);
      const { fieldId } = action.settings;
      return {
        ran: ran(value),
        effect: { kind: 'set_custom_field', actionId: action.id, fieldId, value },
        move: { kind: 'next' },
        facts: withCustomField(facts, fieldId, value),
      };
    }
    case 'start_journey':
      return { ran: ran(), effect: { kind: 'start_journey', actionId: action.id, journeyId: action.settings.journeyId }, move: { kind: 'next' } };
    case 'exit_journey':
      return exitJourneys(action, input.journey.journeyId, ran());
    case 'exit_all_other_journeys':
      return { ran: ran(), effect: { kind: 'exit_all_other_journeys', actionId: action.id }, move: { kind: 'next' } };
    case 'exit_this_journey':
      return { ran: ran(), move: { kind: 'stop', outcome: { kind: 'exited', actionId: action.id, reason: EXIT_THIS_JOURNEY_REASON } } };
    case 'wait_for_event': {
      // Reached: wait for the event until the timeout. Logged when it resolves (Yes or No), once.
      const { amount, unit, window } = action.settings.timeout;
      const wakeAt = computeWakeAt(input.now, amount, unit, window, facts.timeZone);
      return { move: { kind: 'stop', outcome: { kind: 'wait', actionId: action.id, wakeAt, eventsSince: input.now } } };
    }
    case 'random_split': {
      const path = splitPath(input.entry?.key ?? '', action.id, action.settings.percents);
      return { ran: ran(`path ${String.fromCharCode(65 + path)}`), move: { kind: 'enter', list: action.paths[path] ?? [] } };
    }
    default:
      return assertNever(action, 'action');
  }
}

/**
 * Exit Journey ends the person's entries in the journeys it names. It may name
 * the journey it is in: this entry then stops there, exited, and the effect
 * still names this journey, for the person's other entries in it (through
 * their other lists).
 */
function exitJourneys(action: Extract<Action, { type: 'exit_journey' }>, ownJourneyId: number, ran: RanAction): ActionRun {
  const { journeyIds } = action.settings;
  const effect: LocalEffect = { kind: 'exit_journeys', actionId: action.id, journeyIds: [...journeyIds] };
  const move: Move = journeyIds.includes(ownJourneyId)
    ? { kind: 'stop', outcome: { kind: 'exited', actionId: action.id, reason: EXIT_JOURNEY_REASON } }
    : { kind: 'next' };
  return { ran, effect, move };
}

/**
 * Whether a journey's actions can end entries other than the one walking
 * them (Exit Journey, Exit All Other Journeys): the runtime then locks the
 * live entries of the whole person (every subscriber of the owner with the
 * same email address) before the step.
 */
export function endsOtherEntries(actions: readonly Action[]): boolean {
  return allActions(actions).some((a) => a.type === 'exit_journey' || a.type === 'exit_all_other_journeys');
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The path of a Random split an entry takes: a hash of the entry and the
 * action, spread over 0–99 and cut by the percentages. The same entry always
 * takes the same path at the same split (a retried step too); over many
 * entries the shares follow the percentages.
 */
export function splitPath(entryKey: string, actionId: string, percents: readonly number[]): number {
  // FNV-1a over "entryKey|actionId", 32 bits.
  let hash = 0x811c9dc5;
  for (const char of `${entryKey}|${actionId}`) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const point = hash % 100;
  let upTo = 0;
  for (let i = 0; i < percents.length; i++) {
    upTo += percents[i];
    if (point < upTo) return i;
  }
  return Math.max(0, percents.length - 1);
}

const EPOCH = new Date(0);

/** The goal met now, as an outcome, or null. */
function goalOutcome(input: StepInput, facts: StepFacts, at: string | null): StepOutcome | null {
  const goal = input.journey.goal;
  if (!goal) return null;
  const met = goalMet(goal, facts, input.entry?.enteredAt ?? EPOCH, input.now);
  return met ? { kind: 'converted', actionId: at, reason: `Goal met: ${met}` } : null;
}

/**
 * Where a waiting entry goes: on after a Wait that is due; into a Wait for
 * event's Yes branch on an event in [since, until], its No branch once the
 * timeout passed; nowhere yet otherwise (null).
 */
function resumeWaiting(
  input: StepInput,
  start: Extract<StepStart, { from: 'waiting' }>,
  facts: StepFacts,
): { cursor: Cursor; ran?: RanAction } | 'removed' | null {
  const action = findAction(input.journey.actions, start.actionId);
  if (!action) return 'removed';
  const due = input.now.getTime() >= start.until.getTime();
  if (action.type !== 'wait_for_event') {
    const after = cursorAfter(input.journey.actions, start.actionId);
    return due && after ? { cursor: after } : null;
  }
  const event = awaitedEventIn(action.settings.event, input.journey.actions, facts.events ?? [], start.since, start.until);
  if (event) return { cursor: { list: action.yes, index: 0 }, ran: { actionId: action.id, type: action.type, result: `yes: ${event.eventId}` } };
  if (due) return { cursor: { list: action.no, index: 0 }, ran: { actionId: action.id, type: action.type, result: 'no: timed out' } };
  return null;
}

export function advance(input: StepInput): StepResult {
  const ran: RanAction[] = [];
  const effects: LocalEffect[] = [];
  const finish = (outcome: StepOutcome): StepResult => ({ ran, effects, outcome });
  const here = input.start.from === 'beginning' ? null : input.start.actionId;

  // A goal met takes the entry out wherever it stands, before anything runs.
  const converted = goalOutcome(input, input.facts, here);
  if (converted) return finish(converted);

  let start: Cursor | null;
  if (input.start.from === 'waiting') {
    const resumed = resumeWaiting(input, input.start, input.facts);
    if (resumed === null) return finish({ kind: 'unchanged' });
    if (resumed === 'removed') return finish({ kind: 'exited', actionId: input.start.actionId, reason: ACTION_REMOVED_REASON });
    if (resumed.ran) ran.push(resumed.ran);
    start = resumed.cursor;
  } else {
    start = startCursor(input.journey.actions, input.start);
  }
  if (!start) return finish({ kind: 'exited', actionId: here, reason: ACTION_REMOVED_REASON });
  const maxActions = input.maxActions ?? DEFAULT_MAX_ACTIONS;
  let cursor: Cursor = start;
  let facts = input.facts;
  for (;;) {
    const action = cursor.list[cursor.index];
    if (!action) return finish({ kind: 'completed' });
    if (ran.length >= maxActions) return finish({ kind: 'failed', actionId: action.id, error: `Stopped after ${maxActions} actions in one step` });
    let run: ActionRun;
    try {
      run = runAction(action, input, facts);
    } catch (error) {
      return finish({ kind: 'failed', actionId: action.id, error: errorMessage(error) });
    }
    if (run.ran) ran.push(run.ran);
    if (run.effect) effects.push(run.effect);
    if (run.facts) {
      facts = run.facts;
      // A field write can make a custom field goal true: no further action runs then.
      const met = goalOutcome(input, facts, action.id);
      if (met) return finish(met);
    }
    switch (run.move.kind) {
      case 'next':
        cursor = { list: cursor.list, index: cursor.index + 1 };
        break;
      case 'enter':
        cursor = { list: run.move.list, index: 0 };
        break;
      case 'stop':
        return finish(run.move.outcome);
      default:
        return assertNever(run.move, 'move');
    }
  }
}
