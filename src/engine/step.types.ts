/**
 * The contract of the pure engine: given a journey, an entry's position and
 * the subscriber's facts, what happens next. No I/O, no clock read inside:
 * `now` and the owner's time zone come in, effects go out for services to carry out.
 */
import type { StepFacts } from './host-facts.types';
import type { ExternalAction } from './action-registry';
import type { Action, JourneyDefinition } from './journey.types';

export type EntryState = 'active' | 'waiting' | 'completed' | 'exited' | 'failed';

/** Where the walk starts. */
export type StepStart =
  | { from: 'beginning' }
  /** Resume after an action that has finished (a Wait that came due, an external action that was carried out). */
  | { from: 'after'; actionId: string };

export interface StepInput {
  journey: JourneyDefinition;
  start: StepStart;
  facts: StepFacts;
  now: Date;
  /** Bound on actions run in one call (a guard; trees are finite). */
  maxActions?: number;
}

/** Effects the runtime applies inside the step's MySQL transaction. */
export type LocalEffect =
  | { kind: 'set_custom_field'; actionId: string; fieldId: number; value: string }
  | { kind: 'start_journey'; actionId: string; journeyId: number }
  | { kind: 'exit_journeys'; actionId: string; journeyIds: number[] }
  | { kind: 'exit_all_other_journeys'; actionId: string };

/** One action that ran during the step, for the execution log. */
export interface RanAction {
  actionId: string;
  type: Action['type'];
  /** e.g. 'yes' / 'no' for a condition, the wake time for a wait. */
  result?: string;
}

export type StepOutcome =
  /** Parked at a Wait until wakeAt. */
  | { kind: 'wait'; actionId: string; wakeAt: Date }
  /**
   * Parked at an action with an effect outside MySQL (host subscription path,
   * HTTP). The runtime claims it, carries it out after commit, then resumes
   * with `{ from: 'after', actionId }`.
   */
  | { kind: 'external'; action: ExternalAction }
  | { kind: 'completed' }
  | { kind: 'exited'; actionId: string | null; reason: string }
  | { kind: 'failed'; actionId: string; error: string };

export interface StepResult {
  ran: RanAction[];
  effects: LocalEffect[];
  outcome: StepOutcome;
}
