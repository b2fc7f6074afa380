/**
 * The runtime's API for the rest of the plug-in (journeys service, API, pages):
 * queue entries, resume a journey after Enable, enrol by hand, retry or skip a
 * failed entry. Everything goes through MySQL first; Redis only wakes work.
 */
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { JourneysErrorCode, JourneysException } from '../common/journeys.exception';
import type { AppConfig } from '../config/env';
import { CLOCK, DB, PLUGIN_CONFIG, type Clock } from '../core/tokens';
import type { Db, SqlSession } from '../database/db';
import { isExternalAction } from '../engine/action-registry';
import { actionPath as actionPathOf, findAction } from '../engine/action-tree';
import type { CausationContext, SubscriberRef } from '../engine/host-facts.types';
import { EntryQueue, type TimedEntryStep } from './entry-queue.service';
import { EntryStore, type ExitFilter, type Position } from './entry-store';
import { Enrolment } from './intake/enrolment';
import { withMessages, type NotEnrolled } from './intake/not-enrolled';
import { JourneyStore } from './journey-store';
import { chunk, type EntryStep } from './queues';

export type { ExitFilter };

export interface ManualEnrolResult {
  enrolled: number;
  /** Refused by the loop bound. */
  refused: number;
  entryIds: number[];
  /** Every subscriber asked for who did not enter, why, in the order asked (the loop bound's refusals among them). */
  notEnrolled: NotEnrolled[];
}

@Injectable()
export class EntryScheduler {
  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PLUGIN_CONFIG) private readonly config: AppConfig,
    private readonly queue: EntryQueue,
    private readonly enrolment: Enrolment,
    private readonly journeys: JourneyStore,
    private readonly store: EntryStore,
  ) {}

  /** Queue these entries: active ones now, waiting ones for their wake time. Ended or unknown ids are ignored. */
  async schedule(entryIds: number[]): Promise<void> {
    for (const ids of chunk([...new Set(entryIds)], 5000)) {
      await this.queuePositions(await this.store.positions(ids));
    }
  }

  /** After Enable: the journey's active entries run now, waits already due run at once, near ones get their wake job. */
  async resumeJourney(journeyId: number): Promise<void> {
    const horizon = new Date(this.clock.now().getTime() + this.config.WAKE_HORIZON_SECONDS * 1000);
    let after = 0;
    for (;;) {
      const rows = await this.store.resumable(journeyId, after, horizon, 5000);
      if (rows.length === 0) return;
      await this.queuePositions(rows);
      after = Number(rows[rows.length - 1].EntryID);
      if (rows.length < 5000) return;
    }
  }

  /**
   * Enrols subscribers into one of the user's journeys (the API, Start Journey
   * from outside). The journey must be enabled (a Conflict with the reason
   * journey_disabled otherwise). `causation` continues a chain; without it a
   * new chain starts.
   */
  async enrolManually(userId: number, journeyId: number, refs: SubscriberRef[], causation?: CausationContext): Promise<ManualEnrolResult> {
    const journey = await this.journeys.get(journeyId);
    if (!journey || journey.definition.ownerUserId !== userId) throw JourneysException.notFound(`Journey ${journeyId}`);
    if (!journey.enabled) {
      const message = `Journey ${journeyId} is disabled; enable it before adding subscribers`;
      throw new JourneysException(JourneysErrorCode.Conflict, message, [{ code: 'journey_disabled', actionId: null, message }]);
    }
    const result = await this.enrolment.enrolRefs(journey, refs, causation ?? { chainId: `manual:${randomUUID()}`, depth: 0 });
    return {
      enrolled: result.enrolled,
      refused: result.refused,
      entryIds: result.entries.map((e) => e.entryId),
      notEnrolled: withMessages(result.notEnrolled, refs),
    };
  }

  /**
   * Ends live entries of a journey with a reason (a subscriber taken out by the
   * API, entries at actions an edit removed). Entries are found first, then
   * updated by primary key in id order, the same order the workers lock them
   * in, so this never deadlocks with a running step; StepSeq moves on so a
   * queued job finds them gone. Returns how many ended.
   */
  exitEntries(filter: ExitFilter, reason: string, session?: SqlSession): Promise<number> {
    return this.store.exit(filter, reason, this.clock.now(), session);
  }

  /** A journey being deleted takes its entries, their log and webhook deliveries with it, in the caller's session. */
  deleteJourneyEntries(session: SqlSession, journeyId: number): Promise<void> {
    return this.store.deleteJourneyEntries(session, journeyId);
  }

  /** How many live entries stand at each action of a journey (ActionID null: not started yet). */
  livePositions(session: SqlSession, journeyId: number): Promise<{ ActionID: string | null; n: number }[]> {
    return this.store.livePositions(session, journeyId);
  }

  /**
   * A failed entry tries its failed action again; an entry retrying an
   * external action (waiting for its next attempt after an error) tries now
   * instead of at its backoff.
   */
  async retryEntry(entryId: number, userId?: number): Promise<void> {
    await this.unpark(entryId, userId, 'retry');
  }

  /** A failed or retrying entry goes on after its action, as if it had succeeded. */
  async skipEntry(entryId: number, userId?: number): Promise<void> {
    await this.unpark(entryId, userId, 'skip');
  }

  private async unpark(entryId: number, userId: number | undefined, how: 'retry' | 'skip'): Promise<void> {
    const step = await this.db.transaction(async (tx) => {
      const entry = await this.store.lockEntry(tx, entryId);
      if (!entry || (userId !== undefined && Number(entry.RelOwnerUserID) !== userId)) throw JourneysException.notFound(`Entry ${entryId}`);
      const actionId = entry.CurrentActionID;
      const journey = await this.journeys.get(Number(entry.JourneyID), tx);
      const external = isExternalAction(journey && actionId ? findAction(journey.definition.actions, actionId) : undefined);
      const retrying = entry.State === 'waiting' && external && entry.LastError !== null;
      if (entry.State !== 'failed' && !retrying) {
        throw new JourneysException(JourneysErrorCode.Conflict, `Entry ${entryId} is ${entry.State}, not failed or retrying`);
      }
      const now = this.clock.now();
      if (retrying && how === 'retry') {
        // Its claim stays as it is (attempts so far, a lease if an attempt is out); only the backoff goes.
        await this.store.retryNow(tx, entryId, actionId!, now);
        return { entryId, stepSeq: Number(entry.StepSeq) + 1 };
      }
      // Skip: the action counts as done. Retry of a failed entry: an external action is claimed again afresh;
      // an instant one runs again when the entry resumes before it (its failed claim is dropped).
      const claim = how === 'skip' ? 'skip' : external ? 'reopen' : 'drop';
      const resumeAt = how === 'retry' && actionId && !external ? this.positionBefore(journey?.definition.actions, actionId) : actionId;
      await this.store.unpark(tx, entryId, actionId, claim, resumeAt, now);
      return { entryId, stepSeq: Number(entry.StepSeq) + 1 };
    });
    await this.queue.runNow([step]);
  }

  /**
   * Where an entry must stand so that its next step runs `actionId` again: after
   * the action before it in its list, or at the beginning when it is first in
   * the top list. An action first in a Yes/No branch re-runs from its condition's
   * predecessor, so the condition is evaluated again on the fresh facts.
   */
  private positionBefore(actions: Parameters<typeof findAction>[0] | undefined, actionId: string): string | null {
    if (!actions) return actionId;
    const path = actionPathOf(actions, actionId);
    if (!path) return actionId;
    for (let depth = path.length - 1; depth >= 0; depth--) {
      const { list, index } = path[depth];
      if (index > 0) return list[index - 1].id;
    }
    return null;
  }

  private async queuePositions(rows: readonly Position[]): Promise<void> {
    const now: EntryStep[] = [];
    const timed: TimedEntryStep[] = [];
    for (const row of rows) {
      const step = { entryId: Number(row.EntryID), stepSeq: Number(row.StepSeq) };
      if (row.State === 'waiting' && row.WakeAt) timed.push({ ...step, wakeAt: new Date(row.WakeAt) });
      else now.push(step);
    }
    await this.queue.runNow(now);
    await this.queue.runAt(timed);
  }
}
