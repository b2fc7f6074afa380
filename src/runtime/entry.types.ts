/**
 * The rows the runtime moves: an entry as the step reads it, where a step
 * leaves it, and the execution-log rows (claims) it writes.
 */
import type { ExternalAction } from '../engine/action-registry';
import type { HostSubscriber, SubscriberRef } from '../engine/host-facts.types';
import type { EntryState } from '../engine/step.types';
import type { RuntimeJourney } from './journey-store';

export interface EntryRow {
  EntryID: number;
  JourneyID: number;
  RelOwnerUserID: number;
  ListID: number;
  SubscriberID: number;
  State: EntryState;
  CurrentActionID: string | null;
  WakeAt: Date | null;
  StepSeq: number;
  ChainID: string;
  ChainDepth: number;
  TriggerEvent: string | null;
  Attempts: number;
  /** Its pass number through the journey (1 for the first). */
  EntryNumber: number;
  /** When it entered the journey. */
  CreatedAt: Date;
  /** Waiting at a Wait for event: events count from here (null otherwise). */
  WaitingSince: Date | null;
}

/** Where a step leaves an entry. */
export interface FinalPosition {
  state: EntryState;
  currentActionId: string | null;
  wakeAt: Date | null;
  /** Waiting at a Wait for event: events count from here. */
  waitingSince?: Date | null;
  exitReason: string | null;
  lastError: string | null;
  newStepSeq: number;
}

export type LogStatus = 'pending' | 'done' | 'failed' | 'skipped';

/** One execution-log row: the claim of a step, its history and its stats at once. */
export interface LogRow {
  entryId: number;
  journeyId: number;
  actionId: string;
  type: string;
  status: LogStatus;
  result: string | null;
  detail: string | null;
  leaseUntil: Date | null;
  /** Who holds the lease (a token per step), with leaseUntil. */
  leaseOwner?: string | null;
  /** External actions: attempts made so far (1 when this step's worker holds the lease and makes the first). */
  attempts?: number;
}

/** An external action to carry out after the step that claimed it committed. */
export interface PendingExternal {
  entry: EntryRow;
  journey: RuntimeJourney;
  action: ExternalAction;
  subscriber: HostSubscriber;
  /** The attempt this worker makes: it holds the claim's lease for it. */
  attempt: number;
}

export function ended(state: EntryState): boolean {
  return state === 'completed' || state === 'exited' || state === 'converted';
}

/** The states of a live entry (ActiveLock 1). */
export function isLive(state: EntryState): boolean {
  return state === 'active' || state === 'waiting' || state === 'failed';
}

export function refOf(entry: Pick<EntryRow, 'ListID' | 'SubscriberID'>): SubscriberRef {
  return { listId: Number(entry.ListID), subscriberId: Number(entry.SubscriberID) };
}

/** What a Random split chooses an entry's path by: the entry's identity, known before it is inserted. */
export function splitKeyOf(entry: Pick<EntryRow, 'JourneyID' | 'ListID' | 'SubscriberID' | 'EntryNumber'>): string {
  return `${entry.JourneyID}:${entry.ListID}:${entry.SubscriberID}:${entry.EntryNumber}`;
}

export function subscriberKey(ref: SubscriberRef): string {
  return `${ref.listId}:${ref.subscriberId}`;
}

/** Row values as the driver returns them (ids may come as strings), made plain. */
export function normaliseEntry(row: EntryRow): EntryRow {
  return {
    ...row,
    EntryID: Number(row.EntryID),
    JourneyID: Number(row.JourneyID),
    RelOwnerUserID: Number(row.RelOwnerUserID),
    ListID: Number(row.ListID),
    SubscriberID: Number(row.SubscriberID),
    StepSeq: Number(row.StepSeq),
    ChainDepth: Number(row.ChainDepth),
    Attempts: Number(row.Attempts),
    EntryNumber: Number(row.EntryNumber),
    WakeAt: row.WakeAt ? new Date(row.WakeAt) : null,
    CreatedAt: new Date(row.CreatedAt),
    WaitingSince: row.WaitingSince ? new Date(row.WaitingSince) : null,
  };
}
