/**
 * Admission, decided without I/O: which requests to enrol may enter a
 * journey. Not while the subscriber has a live entry there, not again in a
 * "once" journey; beyond the causation-depth bound they enter as refusals
 * (recorded as exited entries with the reason, so a loop is visible and never spins).
 */
import type { SubscriberRef } from '../../engine/host-facts.types';
import type { RuntimeJourney } from '../journey-store';
import { chunk } from '../queues';
import { MAX_CHAIN_DEPTH } from '../runtime.limits';
import type { NotEnrolledRef } from './not-enrolled';

/** One subscriber to enrol into one journey, with the chain it belongs to. */
export interface EnrolRequest {
  journey: RuntimeJourney;
  ref: SubscriberRef;
  chainId: string;
  chainDepth: number;
  /** JSON of the triggering event, kept with the entry for webhooks and history. */
  triggerEvent: string | null;
  /** The event that asked for it, to tell each caller of a coalesced batch how many entries its event made. */
  eventId?: string;
}

/** One admitted request. */
export interface AdmittedEntry {
  request: EnrolRequest;
  entryNumber: number;
  /** Set when the loop bound refuses it: the entry is recorded as exited with this reason. */
  refusedReason: string | null;
}

/** The admitted requests of one journey and list, at most ROWS_PER_INSERT of them. */
export interface AdmittedGroup {
  journey: RuntimeJourney;
  listId: number;
  entries: AdmittedEntry[];
}

/** The requests of one journey and list (one per subscriber), to admit together. */
export interface RequestGroup {
  journey: RuntimeJourney;
  listId: number;
  requests: EnrolRequest[];
}

/** A subscriber's past in a journey: entries so far, and 1 when one is live. */
export interface PastInJourney {
  n: number;
  live: number | null;
}

/** Rows inserted by one multi-row INSERT at most. */
export const ROWS_PER_INSERT = 1000;

export function historyKey(journeyId: number, listId: number, subscriberId: number): string {
  return `${journeyId}|${listId}|${subscriberId}`;
}

/** Requests grouped by journey and list, one per subscriber (the first asked), in chunks of ROWS_PER_INSERT. */
export function requestGroups(requests: readonly EnrolRequest[]): RequestGroup[] {
  const groups = new Map<string, EnrolRequest[]>();
  for (const request of requests) {
    const key = `${request.journey.definition.journeyId}|${request.ref.listId}`;
    const group = groups.get(key) ?? [];
    group.push(request);
    groups.set(key, group);
  }
  return [...groups.values()].flatMap((group) => {
    const bySubscriber = [...new Map(group.map((r) => [r.ref.subscriberId, r] as const)).values()];
    return chunk(bySubscriber, ROWS_PER_INSERT).map((part) => ({ journey: group[0].journey, listId: group[0].ref.listId, requests: part }));
  });
}

/**
 * Admits one group given the subscribers' past in the journey (keyed by
 * SubscriberID): `admitted` is null when nobody may enter; `turnedAway` says
 * who may not, and why.
 */
export function admitGroup(group: RequestGroup, past: ReadonlyMap<number, PastInJourney>): { admitted: AdmittedGroup | null; turnedAway: NotEnrolledRef[] } {
  const entries: AdmittedEntry[] = [];
  const turnedAway: NotEnrolledRef[] = [];
  for (const request of group.requests) {
    const before = past.get(request.ref.subscriberId);
    if (before?.live) turnedAway.push({ ref: request.ref, reason: 'already_active' });
    else if (before && group.journey.definition.reEntry === 'once') turnedAway.push({ ref: request.ref, reason: 'entered_once' });
    else entries.push({ request, entryNumber: Number(before?.n ?? 0) + 1, refusedReason: loopRefusal(request) });
  }
  return { admitted: entries.length > 0 ? { journey: group.journey, listId: group.listId, entries } : null, turnedAway };
}

function loopRefusal(request: EnrolRequest): string | null {
  if (request.chainDepth <= MAX_CHAIN_DEPTH) return null;
  return `Loop stopped: causation chain ${request.chainId} reached depth ${request.chainDepth} (limit ${MAX_CHAIN_DEPTH})`;
}
