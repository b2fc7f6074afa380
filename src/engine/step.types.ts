/**
 * The contract of the pure engine: given a journey, an entry's position and
 * the subscriber's facts, what happens next. No I/O, no clock read inside:
 * `now` and the owner's time zone come in, effects go out for services to carry out.
 */
import type { StepFacts } from './host-facts.types';
import type { ExternalAction } from './action-registry';
import type { Action, JourneyDefinition } from './journey.types';

/** `converted`: met the journey's goal (ended, like completed and exited). */
export type EntryState = 'active' | 'waiting' | 'completed' | 'exited' | 'failed' | 'converted';

/** Where the walk starts. */
export type StepStart =
  | { from: 'beginning' }
  /** Resume after an action that has finished (an external action that was carried out). */
  | { from: 'after'; actionId: string }
  /**
   * Waiting at a Wait or a Wait for event since `since`, until `until` (its
   * wake time or timeout): goes on after a Wait that is due, takes a Wait for
   * event's Yes branch on an event in [since, until] or its No branch once due;
   * otherwise stays (outcome `unchanged`).
   */
  | { from: 'waiting'; actionId: string; since: Date; until: Date };

/** The entry being moved, where a decision depends on it. */
export interface StepEntry {
  /** What identifies the entry (a Random split chooses its path by it). */
  key: string;
  /** When it entered the journey: events count toward the goal from here. */
  enteredAt: Date;
}

export interface StepInput {
  journey: JourneyDefinition;
  start: StepStart;
  facts: StepFacts;
  now: Date;
  /** The entry (a Random split's path is chosen by its key; the goal counts events since it entered). Defaults to key '', entered at the epoch. */
  entry?: StepEntry;
  /** Bound on actions run in one call (a guard; trees are finite). */
  maxActions?: number;
}

/**
 * Effects the runtime applies inside the step's MySQL transaction. The exits
 * act on the person: the live entries, other than this one, of every
 * subscriber of the owner with this subscriber's email address, in the named
 * journeys (this one included when named) or in every other journey.
 */
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
  /** Parked at a Wait until wakeAt, or at a Wait for event (`eventsSince`: from when events count) until its timeout at wakeAt. */
  | { kind: 'wait'; actionId: string; wakeAt: Date; eventsSince?: Date }
  /** Still waiting where it waits: nothing to write. */
  | { kind: 'unchanged' }
  /** Met the journey's goal: leaves the journey as converted, `reason` says what met it. */
  | { kind: 'converted'; actionId: string | null; reason: string }
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
