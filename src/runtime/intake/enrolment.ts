/**
 * Enrolment: admitted requests become entries, active at the start of their
 * journey, inserted with multi-row INSERT IGNORE (the live-entry key keeps
 * one live entry per journey and subscriber). Used by the trigger intake
 * when the first step is left to the workers, by Start Journey effects inside
 * a step, and by manual enrolment (API). Callers queue the new entries once
 * the transaction has committed.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, DB, type Clock } from '../../core/tokens';
import { sqlDate, type Db, type SqlTransaction } from '../../database/db';
import type { CausationContext, SubscriberRef } from '../../engine/host-facts.types';
import { EntryQueue } from '../entry-queue.service';
import { EntryStore } from '../entry-store';
import { JourneyStore, type RuntimeJourney } from '../journey-store';
import type { EntryStep } from '../queues';
import { RuntimeMetrics } from '../runtime.metrics';
import { MAX_CHAIN_DEPTH } from '../runtime.limits';
import { admitGroup, historyKey, requestGroups, type AdmittedGroup, type EnrolRequest, type PastInJourney } from './admission';
import type { NotEnrolledRef } from './not-enrolled';

export interface EnrolResult {
  enrolled: number;
  /** Refused by the loop bound (recorded as exited entries). */
  refused: number;
  /** The new entries, to queue once the transaction has committed. */
  entries: EntryStep[];
  /** Entries made per event id (requests that carried one). */
  byEvent: Map<string, number>;
  /** The subscribers asked for who did not enter, and why (the loop bound's refusals among them). */
  notEnrolled: NotEnrolledRef[];
}

export function emptyEnrolResult(): EnrolResult {
  return { enrolled: 0, refused: 0, entries: [], byEvent: new Map(), notEnrolled: [] };
}

@Injectable()
export class Enrolment {
  private readonly logger = new Logger('JourneysEnrolment');

  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly store: EntryStore,
    private readonly journeys: JourneyStore,
    private readonly queue: EntryQueue,
    private readonly metrics: RuntimeMetrics,
  ) {}

  /**
   * The requests that may enter, per journey and list. A non-locking read of
   * the subscribers' past (the live-entry key decides at insert time);
   * `known`: that past when the caller read it already, keyed by historyKey().
   */
  async admit(tx: SqlTransaction, requests: readonly EnrolRequest[], known?: ReadonlyMap<string, PastInJourney>): Promise<AdmittedGroup[]> {
    return (await this.admission(tx, requests, known)).admitted;
  }

  /** What admit() answers, and the requests it turned away with the reason. */
  private async admission(
    tx: SqlTransaction,
    requests: readonly EnrolRequest[],
    known?: ReadonlyMap<string, PastInJourney>,
  ): Promise<{ admitted: AdmittedGroup[]; turnedAway: NotEnrolledRef[] }> {
    const admitted: AdmittedGroup[] = [];
    const turnedAway: NotEnrolledRef[] = [];
    for (const group of requestGroups(requests)) {
      const journeyId = group.journey.definition.journeyId;
      const past = new Map<number, PastInJourney>();
      if (known) {
        for (const r of group.requests) {
          const h = known.get(historyKey(journeyId, group.listId, r.ref.subscriberId));
          if (h) past.set(r.ref.subscriberId, h);
        }
      } else {
        const rows = await this.store.historyOf(
          tx,
          journeyId,
          group.listId,
          group.requests.map((r) => r.ref.subscriberId),
        );
        for (const row of rows) past.set(Number(row.SubscriberID), { n: Number(row.n), live: row.live === null ? null : Number(row.live) });
      }
      const decided = admitGroup(group, past);
      if (decided.admitted) admitted.push(decided.admitted);
      turnedAway.push(...decided.turnedAway);
    }
    return { admitted, turnedAway };
  }

  /** Inserts entries for these requests in `tx`, active at the start of their journey. */
  async enrol(tx: SqlTransaction, requests: readonly EnrolRequest[]): Promise<EnrolResult> {
    const result = emptyEnrolResult();
    if (requests.length === 0) return result;
    const now = this.clock.now();
    const nowSql = sqlDate(now);
    const touched = new Set<number>();
    const { admitted, turnedAway } = await this.admission(tx, requests);
    result.notEnrolled.push(...turnedAway);
    for (const group of admitted) {
      const journey = group.journey.definition;
      const refused = group.entries.filter((a) => a.refusedReason).length;
      const { affectedRows } = await this.store.insertEntries(
        tx,
        group.entries.map(({ request, entryNumber, refusedReason }) => ({
          journeyId: journey.journeyId,
          ownerUserId: journey.ownerUserId,
          listId: group.listId,
          subscriberId: request.ref.subscriberId,
          entryNumber,
          journeyVersion: journey.version,
          chainId: request.chainId,
          chainDepth: request.chainDepth,
          triggerEvent: request.triggerEvent,
          refusedReason,
        })),
        now,
      );
      result.enrolled += affectedRows - refused;
      result.refused += refused;
      this.noteRefused(journey.journeyId, refused);
      const toEnter = group.entries.filter((a) => !a.refusedReason).map((a) => a.request);
      for (const { request, refusedReason } of group.entries) {
        if (refusedReason) result.notEnrolled.push({ ref: request.ref, reason: 'loop_limit', detail: refusedReason });
      }
      if (affectedRows <= refused) {
        // The insert ignored every one: another enrolment made their live entries since admission read (it waited on their keys).
        for (const request of toEnter) result.notEnrolled.push({ ref: request.ref, reason: 'already_active' });
        continue;
      }
      touched.add(journey.journeyId);
      const bySubscriber = new Map(group.entries.map((a) => [a.request.ref.subscriberId, a.request]));
      const live = await this.store.liveEntriesOf(tx, journey.journeyId, group.listId, [...bySubscriber.keys()]);
      const beaten = affectedRows - refused < toEnter.length ? beatenTo(toEnter, live) : new Set<number>();
      for (const subscriberId of beaten) result.notEnrolled.push({ ref: { listId: group.listId, subscriberId }, reason: 'already_active' });
      for (const row of live) {
        if (row.State !== 'active' || Number(row.StepSeq) !== 0 || beaten.has(Number(row.SubscriberID))) continue;
        result.entries.push({ entryId: Number(row.EntryID), stepSeq: 0 });
        // Only rows this insert made (not a live entry a concurrent enrolment made) count for the event.
        const eventId = bySubscriber.get(Number(row.SubscriberID))?.eventId;
        if (eventId && sqlDate(new Date(row.CreatedAt)) === nowSql) result.byEvent.set(eventId, (result.byEvent.get(eventId) ?? 0) + 1);
      }
    }
    await this.journeys.touch(tx, touched, now);
    this.metrics.enrolled.inc(result.enrolled);
    return result;
  }

  /** Counts and reports enrolments the loop bound refused. */
  noteRefused(journeyId: number, refused: number): void {
    if (refused === 0) return;
    this.metrics.loopsRefused.inc(refused);
    this.logger.warn(`journey ${journeyId}: ${refused} enrolment(s) refused by the loop bound (depth > ${MAX_CHAIN_DEPTH})`);
  }

  /** Enrols subscribers into one journey outside any trigger (the API), in a transaction of its own, and queues them. */
  async enrolRefs(journey: RuntimeJourney, refs: readonly SubscriberRef[], causation: CausationContext): Promise<EnrolResult> {
    const requests = refs.map((ref) => ({ journey, ref, chainId: causation.chainId.slice(0, 128), chainDepth: causation.depth, triggerEvent: null }));
    const result = await this.db.transaction((tx) => this.enrol(tx, requests));
    await this.queue.afterCommit([], result.entries);
    return result;
  }
}

/**
 * When the insert ignored some rows: the subscribers whose live entry another
 * enrolment made between admission's read and the insert (it waited on that
 * entry's key). Told apart by the chain: a live row of another chain, or none
 * this transaction can see, is not this insert's.
 */
function beatenTo(toEnter: readonly EnrolRequest[], live: readonly { SubscriberID: number; ChainID: string }[]): Set<number> {
  const chainOf = new Map(live.map((row) => [Number(row.SubscriberID), row.ChainID]));
  return new Set(toEnter.filter((request) => chainOf.get(request.ref.subscriberId) !== request.chainId).map((request) => request.ref.subscriberId));
}
