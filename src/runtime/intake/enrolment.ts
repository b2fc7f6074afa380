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

export interface EnrolResult {
  enrolled: number;
  /** Refused by the loop bound (recorded as exited entries). */
  refused: number;
  /** The new entries, to queue once the transaction has committed. */
  entries: EntryStep[];
  /** Entries made per event id (requests that carried one). */
  byEvent: Map<string, number>;
}

export function emptyEnrolResult(): EnrolResult {
  return { enrolled: 0, refused: 0, entries: [], byEvent: new Map() };
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
    const out: AdmittedGroup[] = [];
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
      const admitted = admitGroup(group, past);
      if (admitted) out.push(admitted);
    }
    return out;
  }

  /** Inserts entries for these requests in `tx`, active at the start of their journey. */
  async enrol(tx: SqlTransaction, requests: readonly EnrolRequest[]): Promise<EnrolResult> {
    const result = emptyEnrolResult();
    if (requests.length === 0) return result;
    const now = this.clock.now();
    const nowSql = sqlDate(now);
    const touched = new Set<number>();
    for (const group of await this.admit(tx, requests)) {
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
      if (affectedRows <= refused) continue;
      touched.add(journey.journeyId);
      const bySubscriber = new Map(group.entries.map((a) => [a.request.ref.subscriberId, a.request]));
      const live = await this.store.liveEntriesOf(tx, journey.journeyId, group.listId, [...bySubscriber.keys()]);
      for (const row of live) {
        if (row.State !== 'active' || Number(row.StepSeq) !== 0) continue;
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
