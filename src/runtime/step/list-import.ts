/**
 * The list-import fast path: a batch of new entries inserted where their
 * first step leaves them (at a Wait, ended, failed, or active at a claimed
 * external action), with that step's log rows and field writes, all in the
 * enrolment transaction. No insert-then-update, no re-reads, no job per entry.
 *
 * 1. Admission as for any enrolment (live entry, "once", loop bound).
 * 2. The live entries these subscribers already have (in other journeys,
 *    where a worker may be moving them; those of the whole person when the
 *    journey can exit others: same-person.ts) are locked in id order before
 *    their facts are read, as every step does. The new rows need no lock:
 *    no other transaction can see them before this one commits, and they get
 *    ids above every locked one, so the id order of locks still holds.
 * 3. advance() for each new entry (placeholder ids stand in for the real
 *    ones), effects checked and decided exactly as in a step.
 * 4. One INSERT per journey and list with the final positions. Rows that will
 *    have ended are inserted live first, so the live-entry key judges every
 *    row; should it refuse any (another transaction committed a live entry
 *    after admission read), FreshEnrolmentRace rolls the caller's savepoint
 *    back before a single effect was written and the caller enrols the
 *    classic way. Then field writes, log rows, exits of other entries, Start
 *    Journey enrolments.
 * External actions are claimed as pending log rows (no lease) and their
 * entries come back in `followUps.runNow` for a worker.
 */
import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '../../core/tokens';
import type { SqlTransaction } from '../../database/db';
import type { TimedEntryStep } from '../entry-queue.service';
import { EntryStore } from '../entry-store';
import { ended, isLive, refOf, subscriberKey, type EntryRow } from '../entry.types';
import { historyKey, type AdmittedEntry, type AdmittedGroup, type EnrolRequest, type PastInJourney } from '../intake/admission';
import { Enrolment, emptyEnrolResult, type EnrolResult } from '../intake/enrolment';
import type { EntryStep } from '../queues';
import { RuntimeMetrics } from '../runtime.metrics';
import { DecisionWriter } from './decision-writer';
import { liveByPerson, otherSubscribers, personOf, SamePerson } from './same-person';
import { decideSteps } from './step-decisions';
import { StepPlanner, type StartTargets } from './step-planner';
import type { EventWait } from './event-waits';
import { StepRunner } from './step-runner';

/** What a list import leaves to queue once the enrolment transaction has committed. */
export interface FirstStepFollowUps {
  wakes: TimedEntryStep[];
  runNow: EntryStep[];
  /** Entries that started waiting for an event (checked for events that arrived meanwhile, after commit). */
  eventWaits: EventWait[];
}

/**
 * A concurrent transaction committed a live entry for a subscriber the fresh
 * path had admitted: its whole batch is rolled back to the savepoint and
 * enrolled the classic way (insert, then step), where INSERT IGNORE decides.
 */
export class FreshEnrolmentRace extends Error {
  constructor(expected: number, inserted: number) {
    super(`fresh enrolment: ${inserted} of ${expected} entries inserted (a live entry appeared meanwhile)`);
  }
}

interface FreshEntry {
  group: AdmittedGroup;
  admitted: AdmittedEntry;
  entry: EntryRow;
}

@Injectable()
export class ListImport {
  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly store: EntryStore,
    private readonly enrolment: Enrolment,
    private readonly planner: StepPlanner,
    private readonly writer: DecisionWriter,
    private readonly runner: StepRunner,
    private readonly metrics: RuntimeMetrics,
    private readonly samePerson: SamePerson,
  ) {}

  /** Admits, decides and inserts new entries at the position their first step leaves them in. Throws FreshEnrolmentRace (see above). */
  async enrolFresh(tx: SqlTransaction, requests: readonly EnrolRequest[]): Promise<EnrolResult & { followUps: FirstStepFollowUps }> {
    const now = this.clock.now();
    const result = { ...emptyEnrolResult(), followUps: { wakes: [], runNow: [], eventWaits: [] } as FirstStepFollowUps };
    // The persons of subscribers entering a journey that can exit others (one host lookup for the batch): their live entries
    // on the owner's other lists are locked with the subscribers' own.
    const persons = await this.samePerson.of(
      requests.filter((r) => r.journey.endsOtherEntries).map((r) => ({ ownerUserId: r.journey.definition.ownerUserId, ref: r.ref })),
    );
    const own = requests.map((r) => r.ref);
    // One read of every entry these subscribers (and persons) have in their lists: admission's history, and the live entries to lock.
    const known = await this.store.entriesOfSubscribers(tx, [...own, ...otherSubscribers(persons, own)]);
    const history = new Map<string, PastInJourney>();
    for (const row of known) {
      const key = historyKey(row.JourneyID, row.ListID, row.SubscriberID);
      const h = history.get(key) ?? { n: 0, live: null };
      h.n += 1;
      if (row.ActiveLock) h.live = 1;
      history.set(key, h);
    }
    const groups = await this.enrolment.admit(tx, requests, history);
    if (groups.length === 0) return result;

    // Placeholder rows with negative ids, in insert order, stand for the new entries until they are inserted.
    const fresh: FreshEntry[] = [];
    for (const group of groups) {
      const journey = group.journey.definition;
      for (const admitted of group.entries) {
        const { ref, chainId, chainDepth, triggerEvent } = admitted.request;
        const entry: EntryRow = {
          EntryID: -(fresh.length + 1),
          JourneyID: journey.journeyId,
          RelOwnerUserID: journey.ownerUserId,
          ListID: group.listId,
          SubscriberID: ref.subscriberId,
          State: 'active',
          CurrentActionID: null,
          WakeAt: null,
          StepSeq: 0,
          ChainID: chainId,
          ChainDepth: chainDepth,
          TriggerEvent: triggerEvent,
          Attempts: 0,
          EntryNumber: admitted.entryNumber,
          CreatedAt: now,
          WaitingSince: null,
        };
        fresh.push({ group, admitted, entry });
      }
    }
    const runnable = fresh.filter((f) => !f.admitted.refusedReason).map((f) => f.entry);
    const stepping = new Set(runnable.flatMap((e) => personOf(persons, refOf(e)).map(subscriberKey)));
    const liveIds = known.filter((row) => isLive(row.State) && stepping.has(subscriberKey(refOf(row)))).map((row) => row.EntryID);
    const { liveOf } = await this.store.lockLive(tx, runnable, liveIds);
    for (const entry of runnable) {
      const key = subscriberKey(refOf(entry));
      liveOf.set(key, [...(liveOf.get(key) ?? []), entry]);
    }
    const journeys = new Map(groups.map((g) => [g.journey.definition.journeyId, g.journey]));
    const targets: StartTargets = new Map();
    const { plans } = await this.planner.plan(tx, runnable, journeys, new Map(), now, targets);
    const decision = decideSteps(plans, new Set(), liveByPerson(liveOf, persons), targets, null);
    const { positions } = decision;

    // The rows, one INSERT per admitted group (at most ROWS_PER_INSERT each).
    const realId = new Map<number, number>();
    const endedIds: number[] = [];
    const refusedBy = new Map<number, number>();
    for (const group of groups) {
      const journey = group.journey.definition;
      const part = fresh.filter((f) => f.group === group);
      const { affectedRows, insertId } = await this.store.insertEntries(
        tx,
        part.map(({ admitted, entry }) => ({
          journeyId: journey.journeyId,
          ownerUserId: journey.ownerUserId,
          listId: group.listId,
          subscriberId: entry.SubscriberID,
          entryNumber: admitted.entryNumber,
          journeyVersion: journey.version,
          chainId: entry.ChainID,
          chainDepth: entry.ChainDepth,
          triggerEvent: entry.TriggerEvent,
          refusedReason: admitted.refusedReason,
          position: admitted.refusedReason ? undefined : positions.get(entry.EntryID),
        })),
        now,
      );
      if (affectedRows !== part.length) throw new FreshEnrolmentRace(part.length, affectedRows);
      const ids = await this.insertedIds(tx, insertId, part);
      part.forEach((f, i) => {
        if (f.admitted.refusedReason) {
          refusedBy.set(journey.journeyId, (refusedBy.get(journey.journeyId) ?? 0) + 1);
          return;
        }
        const id = ids[i];
        realId.set(f.entry.EntryID, id);
        const position = positions.get(f.entry.EntryID)!;
        if (ended(position.state)) endedIds.push(id);
        result.entries.push({ entryId: id, stepSeq: position.newStepSeq });
        const eventId = f.admitted.request.eventId;
        if (eventId) result.byEvent.set(eventId, (result.byEvent.get(eventId) ?? 0) + 1);
      });
    }
    await this.store.releaseEnded(tx, endedIds);

    // The step's effects, as in any step; the new entries' positions are in their rows already.
    for (const log of decision.logs) if (log.entryId < 0) log.entryId = realId.get(log.entryId)!;
    const others = new Map([...positions].filter(([id]) => id > 0)); // live entries of other journeys ended by an exit effect
    const started = await this.writer.write(
      tx,
      decision,
      others,
      groups.map((g) => g.journey.definition.journeyId),
      now,
    );

    for (const [journeyId, n] of refusedBy) this.enrolment.noteRefused(journeyId, n);
    result.refused = [...refusedBy.values()].reduce((a, b) => a + b, 0);
    result.enrolled = result.entries.length;
    this.metrics.enrolled.inc(result.enrolled);
    for (const plan of plans) {
      const position = positions.get(plan.entry.EntryID);
      const entryId = realId.get(plan.entry.EntryID);
      if (!position || entryId === undefined) continue;
      if (position.state === 'waiting' && position.wakeAt) result.followUps.wakes.push({ entryId, stepSeq: position.newStepSeq, wakeAt: position.wakeAt });
      if (position.waitingSince)
        result.followUps.eventWaits.push({ entryId, stepSeq: position.newStepSeq, ref: refOf(plan.entry), since: position.waitingSince });
      if (decision.externalOf.has(plan.entry.EntryID) && position.state === 'active') result.followUps.runNow.push({ entryId, stepSeq: position.newStepSeq });
    }
    result.followUps.runNow.push(...started.entries);
    return result;
  }

  /**
   * The first step of entries just inserted by `tx` (the classic path, when
   * enrolFresh met a concurrent live entry), in that same transaction. External
   * actions are only claimed here (no lease) and their entries queued.
   */
  async stepFresh(tx: SqlTransaction, entries: readonly EntryStep[]): Promise<FirstStepFollowUps> {
    if (entries.length === 0) return { wakes: [], runNow: [], eventWaits: [] };
    const rows = await this.store.unmoved(
      tx,
      entries.map((e) => e.entryId),
    );
    return this.runner.stepInline(tx, rows, this.clock.now());
  }

  /**
   * The ids a multi-row INSERT gave `part` (all inserted), in row order: from
   * the insert id when the server hands a statement consecutive ids, else read
   * back by the live-entry key. Refused rows (not live) get no id from the
   * read-back; they need none.
   */
  private async insertedIds(tx: SqlTransaction, insertId: number, part: readonly FreshEntry[]): Promise<number[]> {
    const step = await this.store.consecutiveIdStep();
    if (step !== null && insertId > 0) return part.map((_, i) => insertId + i * step);
    const live = part.filter((f) => !f.admitted.refusedReason);
    if (live.length === 0) return [];
    const rows = await this.store.liveEntriesOf(
      tx,
      live[0].entry.JourneyID,
      live[0].entry.ListID,
      live.map((f) => f.entry.SubscriberID),
    );
    const bySubscriber = new Map(rows.map((r) => [Number(r.SubscriberID), Number(r.EntryID)]));
    return part.map((f) => (f.admitted.refusedReason ? 0 : bySubscriber.get(f.entry.SubscriberID)!));
  }
}
