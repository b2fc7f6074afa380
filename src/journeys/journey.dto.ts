/**
 * What the journeys services take and give back. The planner pages and the API
 * code against these shapes; the owner's UserID is never part of an input, it
 * is a parameter taken from the authenticated context.
 */
import type { Violation } from '../common/journeys.exception';
import type { Action, ActionType, JourneyGoal, JourneyStatus, ReEntryRule, Trigger, TriggerType } from '../engine/journey.types';
import type { EditImpact } from '../engine/edit-impact';
import type { EntryState } from '../engine/step.types';

export const JOURNEY_NAME_MAX = 250;
export const JOURNEY_NOTES_MAX = 10000;

export interface CreateJourneyInput {
  name: string;
  notes?: string | null;
  /** Validated against the owner's lists and emails. */
  trigger: unknown;
  reEntry?: ReEntryRule;
  /** The goal (validated); absent or null for none. */
  goal?: unknown;
}

/** Every field optional: only the given ones change. */
export interface UpdateJourneyInfoInput {
  name?: string;
  notes?: string | null;
  trigger?: unknown;
  reEntry?: ReEntryRule;
  /** The goal (validated); null for none. */
  goal?: unknown;
}

export interface JourneySummary {
  journeyId: number;
  name: string;
  trigger: Trigger;
  triggerType: TriggerType;
  status: JourneyStatus;
  reEntry: ReEntryRule;
  version: number;
  /** Entries active, waiting or failed (still inside the journey); converted ones have left it. */
  activeCount: number;
  /** Every entry ever made. */
  totalCount: number;
  /** Entries that met the journey's goal. */
  convertedCount: number;
  /** convertedCount / totalCount (0–1); null while nobody entered. */
  conversionRate: number | null;
  /** Entries that meet it leave the journey as converted; null for none. */
  goal: JourneyGoal | null;
  lastActivityAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface JourneyDetail {
  journeyId: number;
  ownerUserId: number;
  name: string;
  notes: string | null;
  trigger: Trigger;
  status: JourneyStatus;
  reEntry: ReEntryRule;
  actions: Action[];
  version: number;
  /** Entries that meet it leave the journey as converted; null for none. */
  goal: JourneyGoal | null;
  /** Standard Webhooks secret (`whsec_…`) the Webhook action signs with. */
  webhookSecret: string;
  createdAt: Date;
  updatedAt: Date;
  lastActivityAt: Date | null;
}

/** Who an edit of the actions concerns besides those who leave: the live entries before each added action. */
export type NewActionsReach = Pick<EditImpact, 'newActions' | 'reached'>;

export interface ActionsPreview extends NewActionsReach {
  violations: Violation[];
  /** Live entries (active, waiting, failed) sitting at actions the new tree removes: they would exit on save. */
  affected: number;
  removedActionIds: string[];
}

export interface SaveActionsResult extends NewActionsReach {
  version: number;
  actions: Action[];
  removedActionIds: string[];
  /** Live entries exited because their action was removed. */
  exitedEntries: number;
}

/** Per action of the tree (plus any action id still found in the data). */
export interface ActionCount {
  /** Live entries (active, waiting or failed) at the action now. */
  current: number;
  /** Runs of the action that finished and moved on (log rows `done`, less the entries still waiting at a Wait). */
  passed: number;
  /** Entries parked failed at the action now, waiting for a retry or a skip. */
  failed: number;
  /** Entries at this external action waiting for their next attempt after an error (part of `current`). */
  retrying: number;
  /** Runs where the action was not carried out: a Send Email the subscriber could not receive (skipped, or exited as the action says), an entry skipped past a failure. */
  skipped: number;
  /** A branching action's runs by the branch they took (`yes`, `no`, `path1`…, as `branchesOf()` names them); absent for other actions. */
  branches?: Record<string, number>;
}

export interface FunnelStep {
  actionId: string;
  type: ActionType;
  label: string;
  /** 0 for the main path, +1 inside each branch. */
  depth: number;
  /** Branch of the nearest enclosing branching action: `yes`, `no`, `path1`… (null on the main path). */
  branch: string | null;
  /** What the planner calls that branch: Yes, No, Path A… (null on the main path). */
  branchLabel: string | null;
  /** ActionID of that branching action (null on the main path). */
  parentActionId: string | null;
  /** Runs that reached the action: its log rows in any status, and for a Wait for event (logged when it resolves) the entries at it without one. */
  reached: number;
}

export interface Funnel {
  /** Entries that entered the journey. */
  entered: number;
  /** Entries that met the journey's goal (left as converted). */
  converted: number;
  /** Whether the journey has a goal now (a "Converted" bar is drawn when it has, or when entries converted before it was removed). */
  hasGoal: boolean;
  /** Actions in tree order (depth-first, each branch in order: Yes before No, Path A before Path B). */
  steps: FunnelStep[];
}

/**
 * Entries by state. `retrying` entries wait for the next attempt at an external
 * action after an error; `waiting` counts the other waiting entries only, so
 * the states add up to `total`. `converted` entries met the goal and left
 * (ended, like completed and exited); `conversionRate` is converted / total
 * (0–1), null while nobody entered.
 */
export type EntriesSummary = Record<EntryState, number> & { retrying: number; total: number; conversionRate: number | null };

export interface HistoryLogRow {
  actionId: string;
  actionType: string;
  label: string;
  status: 'pending' | 'done' | 'failed' | 'skipped';
  result: string | null;
  detail: string | null;
  /** When it finished, or when it started if it has not. */
  at: Date;
  startedAt: Date;
  completedAt: Date | null;
}

export interface HistoryEntry {
  entryId: number;
  journeyId: number;
  journeyName: string;
  entryNumber: number;
  state: EntryState;
  currentActionId: string | null;
  wakeAt: Date | null;
  lastError: string | null;
  exitReason: string | null;
  startedAt: Date;
  updatedAt: Date;
  endedAt: Date | null;
  log: HistoryLogRow[];
}

export interface SubscriberHistory {
  listId: number;
  listName: string;
  subscriberId: number;
  emailAddress: string;
  subscriptionStatus: string;
  /** Newest first. */
  entries: HistoryEntry[];
}

/**
 * An entry that stopped at an action with an error: `failed` (parked for good,
 * until a user retries or skips it) or `retrying` (an external action failed
 * for a reason that may pass; its next attempt is at `nextAttemptAt`).
 */
export type EntryTrouble = 'failed' | 'retrying';

export interface FailedEntry {
  entryId: number;
  listId: number;
  subscriberId: number;
  /** Empty when the subscriber no longer exists in the host. */
  emailAddress: string;
  actionId: string | null;
  actionLabel: string;
  status: EntryTrouble;
  /** The latest error; a retrying entry's reads "attempt N failed: …". */
  error: string | null;
  /** Attempts made so far. */
  attempts: number;
  /** Attempts an external action gets before it fails for good. */
  maxAttempts: number;
  /** When the entry last changed: it failed, or (retrying) its latest attempt failed. */
  failedAt: Date;
  /** When a retrying entry's next attempt starts; null for a failed entry. */
  nextAttemptAt: Date | null;
}
