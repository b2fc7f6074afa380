/**
 * Enrolment: trigger events in, entries out. The runtime's TriggerIntake.
 *
 * One transaction per batch of events: the event ids are recorded (a repeated
 * id enrols nobody), the enabled journeys whose trigger fits are found through
 * the trigger index, and the entries are inserted with multi-row INSERT IGNORE.
 * The live-entry unique key (ActiveLock) keeps one live entry per journey and
 * subscriber; "once" journeys are checked against earlier entries. After
 * commit the new entries are queued in batch jobs.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Transaction, type Sequelize } from 'sequelize';
import type { AppConfig } from '../config/env';
import { CLOCK, PLUGIN_CONFIG, SEQUELIZE, TABLES, type Clock } from '../core/tokens';
import type { PluginTables } from '../database/tables';
import { matchesTrigger } from '../engine/trigger-match';
import type { TriggerEvent } from '../engine/trigger-event';
import type { CausationContext, SubscriberRef } from '../host/host.ports';
import { EntryQueue, type TimedEntryStep } from './entry-queue.service';
import { JourneyStore, type RuntimeJourney } from './journey-store';
import { chunk, type EntryStep } from './queues';
import { RuntimeMetrics } from './runtime.metrics';
import { MAX_CHAIN_DEPTH } from './runtime.limits';
import { execute, isTransientDbError, select, sqlDate, withDbRetry } from './sql';
import type { TriggerIntake } from './trigger-intake';

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

export interface EnrolResult {
  enrolled: number;
  /** Refused by the loop bound (recorded as exited entries). */
  refused: number;
  /** The new entries, to queue once the transaction has committed. */
  entries: EntryStep[];
  /** Entries made per event id (requests that carried one). */
  byEvent: Map<string, number>;
}

export interface AcceptManyResult {
  enrolled: number;
  duplicates: number;
  refused: number;
  /** Entries made per event id; a duplicate or unmatched event is absent. */
  byEvent: Map<string, number>;
}

const ROWS_PER_INSERT = 1000;

/**
 * Chunks of one acceptMany call enrolled at the same time: with two, one
 * chunk's statements run while Node prepares the other's (measured +45% on a
 * 2-core machine; more adds little there and holds more connections).
 */
const CHUNKS_IN_FLIGHT = 2;

/**
 * From this many events in one call (a list import), the new entries' first
 * step runs inside the enrolment transaction instead of through a job: one
 * transaction and no queue round trip per batch. Fewer events (a single hook)
 * go through the queue, so the host's request does not wait on journey work.
 */
export const INLINE_FIRST_STEP_MIN_EVENTS = 20;

/** What running the first step inline leaves to queue once the enrolment transaction has committed. */
export interface FirstStepFollowUps {
  wakes: TimedEntryStep[];
  runNow: EntryStep[];
}

/** Runs the first step of fresh entries in the enrolment transaction (the EntryRunner). */
export interface FirstStepRunner {
  /**
   * Admits, decides and inserts new entries at the position their first step
   * leaves them in, with the step's log rows and field writes, in `tx`.
   * Throws FreshEnrolmentRace when the live-entry key refused a row the
   * admission had let through (the caller then takes the classic path).
   */
  enrolFresh(requests: readonly EnrolRequest[], tx: Transaction): Promise<EnrolResult & { followUps: FirstStepFollowUps }>;
  /** The first step of entries already inserted (StepSeq 0) by `tx`. */
  stepFresh(entries: readonly EntryStep[], tx: Transaction): Promise<FirstStepFollowUps>;
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

/** One admitted request: not live in the journey, not barred by "once". */
export interface AdmittedEntry {
  request: EnrolRequest;
  entryNumber: number;
  /** Set when the loop bound refuses it: the entry is recorded as exited with this reason. */
  refusedReason: string | null;
}

/** What admission needs of a subscriber's past in a journey, keyed by historyKey(): entries so far, and 1 when one is live. */
export type EntryHistory = Map<string, { n: number; live: number | null }>;

export function historyKey(journeyId: number, listId: number, subscriberId: number): string {
  return `${journeyId}|${listId}|${subscriberId}`;
}

/** The admitted requests of one journey and list, at most ROWS_PER_INSERT of them. */
export interface AdmittedGroup {
  journey: RuntimeJourney;
  listId: number;
  entries: AdmittedEntry[];
}

class EventRace extends Error {}

/** Events coalesced into one batch at most. */
const COALESCE_MAX = 1000;

interface Waiter {
  event: TriggerEvent;
  resolve(result: { enrolled: number }): void;
  reject(error: unknown): void;
}

@Injectable()
export class EnrolmentService implements TriggerIntake {
  private readonly logger = new Logger('JourneysEnrolment');
  private firstStep: FirstStepRunner | null = null;
  private readonly waiting: Waiter[] = [];
  private flushScheduled = false;

  constructor(
    @Inject(SEQUELIZE) private readonly sequelize: Sequelize,
    @Inject(TABLES) private readonly tables: PluginTables,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PLUGIN_CONFIG) private readonly config: AppConfig,
    private readonly journeys: JourneyStore,
    private readonly queue: EntryQueue,
    private readonly metrics: RuntimeMetrics,
  ) {}

  /** Set by the EntryRunner (which depends on this service, hence not injected here). */
  useFirstStepRunner(runner: FirstStepRunner): void {
    this.firstStep = runner;
  }

  /**
   * One event. Events arriving at the same time (hooks of a list import fired
   * concurrently, the HTTP ingest under load) are coalesced into one batch per
   * tick; each caller still learns how many entries its own event made.
   */
  accept(event: TriggerEvent): Promise<{ enrolled: number }> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ event, resolve, reject });
      if (this.waiting.length >= COALESCE_MAX) void this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.waiting.splice(0, COALESCE_MAX);
    if (this.waiting.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => void this.flush());
    }
    if (batch.length === 0) return;
    const answer = (waiters: Waiter[], byEvent: Map<string, number>) => {
      const seen = new Set<string>();
      for (const w of waiters) {
        // The same event twice in one batch: the first caller gets the entries, the repeat none.
        w.resolve({ enrolled: seen.has(w.event.eventId) ? 0 : (byEvent.get(w.event.eventId) ?? 0) });
        seen.add(w.event.eventId);
      }
    };
    try {
      answer(batch, (await this.acceptMany(batch.map((w) => w.event))).byEvent);
    } catch (error) {
      if (batch.length === 1) return batch[0].reject(error);
      // One bad event must not fail the others: each on its own.
      for (const w of batch) {
        await this.acceptMany([w.event]).then(
          (r) => answer([w], r.byEvent),
          (e) => w.reject(e),
        );
      }
    }
  }

  /**
   * A batch of events (a list import): bulk inserts, a handful of round trips
   * per chunk of ROWS_PER_INSERT events, CHUNKS_IN_FLIGHT chunks at a time
   * (each its own transaction). Chunks share no event id; should two hold
   * the same subscriber, the live-entry key and the row locks sort them out
   * (a deadlock is retried). After a failed chunk no new one starts; the
   * first error is thrown once the running ones have finished.
   */
  async acceptMany(events: readonly TriggerEvent[]): Promise<AcceptManyResult> {
    const unique = [...new Map(events.map((e) => [e.eventId, e])).values()];
    const total: AcceptManyResult = { enrolled: 0, duplicates: events.length - unique.length, refused: 0, byEvent: new Map() };
    const parts = chunk(unique, ROWS_PER_INSERT);
    let next = 0;
    let failure: { error: unknown } | null = null;
    const lane = async () => {
      while (!failure && next < parts.length) {
        const batch = parts[next++];
        try {
          const result = await this.acceptChunk(batch);
          total.enrolled += result.enrolled;
          total.duplicates += result.duplicates;
          total.refused += result.refused;
          for (const [id, n] of result.byEvent) total.byEvent.set(id, n);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CHUNKS_IN_FLIGHT, parts.length) }, lane));
    if (failure) throw (failure as { error: unknown }).error;
    this.metrics.eventsIn.inc({ outcome: 'new' }, events.length - total.duplicates);
    if (total.duplicates > 0) this.metrics.eventsIn.inc({ outcome: 'duplicate' }, total.duplicates);
    return total;
  }

  /** One chunk of distinct events: optimistic, then with a preselect, then one by one when another process raced it. */
  private async acceptChunk(batch: TriggerEvent[]): Promise<AcceptManyResult> {
    try {
      // Optimistic first (a list import has no repeats): the insert's count says whether any id was seen before.
      return await withDbRetry(() =>
        this.acceptBatch(batch, false).catch((error) => {
          if (error instanceof EventRace) return this.acceptBatch(batch, true);
          throw error;
        }),
      );
    } catch (error) {
      if (!(error instanceof EventRace)) throw error;
      // Another process recorded some of these ids meanwhile: go one by one, where INSERT IGNORE tells exactly.
      const result: AcceptManyResult = { enrolled: 0, duplicates: 0, refused: 0, byEvent: new Map() };
      for (const event of batch) {
        const one = await withDbRetry(() => this.acceptBatch([event], false)).catch((e) => {
          if (e instanceof EventRace) return { enrolled: 0, duplicates: 1, refused: 0, byEvent: new Map<string, number>() };
          throw e;
        });
        result.enrolled += one.enrolled;
        result.duplicates += one.duplicates;
        result.refused += one.refused;
        for (const [id, n] of one.byEvent) result.byEvent.set(id, n);
      }
      return result;
    }
  }

  /**
   * One transaction for a batch of distinct events. With `preselect` the ids
   * seen before are filtered out first; without, all must be new (or, for a
   * single event, it is a duplicate). Throws EventRace when the insert count
   * shows ids it cannot attribute.
   */
  private async acceptBatch(events: TriggerEvent[], preselect: boolean): Promise<AcceptManyResult> {
    const now = this.clock.now();
    let duplicates = 0;
    const outcome = await this.sequelize.transaction({ isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED }, async (tx) => {
      let fresh = events;
      if (preselect) {
        const seen = await select<{ EventID: string }>(
          this.sequelize,
          `SELECT EventID FROM \`${this.tables.events}\` WHERE EventID IN (?)`,
          [events.map((e) => e.eventId)],
          tx,
        );
        const seenIds = new Set(seen.map((r) => r.EventID));
        fresh = events.filter((e) => !seenIds.has(e.eventId));
        duplicates = events.length - fresh.length;
      }
      if (fresh.length === 0)
        return {
          enrolled: 0,
          refused: 0,
          entries: [] as EntryStep[],
          byEvent: new Map<string, number>(),
          followUps: { wakes: [] as TimedEntryStep[], runNow: [] as EntryStep[] },
        };
      const { affectedRows } = await execute(
        this.sequelize,
        `INSERT IGNORE INTO \`${this.tables.events}\` (EventID, ReceivedAt) VALUES ?`,
        [fresh.map((e) => [e.eventId, sqlDate(now)])],
        tx,
      );
      if (affectedRows === 0) {
        duplicates = events.length; // every id was seen before
        return {
          enrolled: 0,
          refused: 0,
          entries: [] as EntryStep[],
          byEvent: new Map<string, number>(),
          followUps: { wakes: [] as TimedEntryStep[], runNow: [] as EntryStep[] },
        };
      }
      if (affectedRows !== fresh.length) throw new EventRace();
      const requests = await this.match(fresh, tx);
      const inline = !!this.firstStep && this.config.ROLE !== 'web' && events.length >= INLINE_FIRST_STEP_MIN_EVENTS;
      if (inline && requests.length > 0) {
        try {
          // Each new entry inserted where its first step leaves it, with that step's log rows and field writes.
          // In a savepoint: a race with another enrolment, or a step that cannot be done here, falls back to the path below.
          return await this.sequelize.transaction({ transaction: tx }, (savepoint) => this.firstStep!.enrolFresh(requests, savepoint));
        } catch (error) {
          if (isTransientDbError(error)) throw error;
          if (!(error instanceof FreshEnrolmentRace))
            this.logger.warn(`fresh enrolment of ${requests.length} requests fell back to insert-then-step: ${(error as Error).message}`);
        }
      }
      const enrolled = await this.enrol(requests, tx);
      const queued = { wakes: [] as TimedEntryStep[], runNow: enrolled.entries };
      if (!inline || enrolled.entries.length === 0) {
        return { ...enrolled, followUps: queued };
      }
      try {
        // In a savepoint: if the first step cannot be done here, the entries still stand and go to the queue.
        const followUps = await this.sequelize.transaction({ transaction: tx }, (savepoint) => this.firstStep!.stepFresh(enrolled.entries, savepoint));
        return { ...enrolled, followUps };
      } catch (error) {
        if (isTransientDbError(error)) throw error;
        this.logger.warn(`first step of ${enrolled.entries.length} new entries left to the workers: ${(error as Error).message}`);
        return { ...enrolled, followUps: queued };
      }
    });
    await this.queueAfterCommit(outcome.followUps.wakes, outcome.followUps.runNow);
    return { enrolled: outcome.enrolled, duplicates, refused: outcome.refused, byEvent: outcome.byEvent };
  }

  /**
   * Queues work for entries already committed. Redis only wakes work: if it is
   * away, the entries are in MySQL and the sweeper queues them later, so the
   * caller is not told the enrolment failed.
   */
  private async queueAfterCommit(wakes: TimedEntryStep[], runNow: EntryStep[]): Promise<void> {
    try {
      await this.queue.runAt(wakes);
      await this.queue.runNow(runNow);
    } catch (error) {
      this.logger.warn(`queueing ${wakes.length + runNow.length} entries failed (the sweeper will pick them up): ${(error as Error).message}`);
    }
  }

  /** Enabled journeys of each event's owner whose trigger fits the event. */
  private async match(events: TriggerEvent[], tx: Transaction): Promise<EnrolRequest[]> {
    const groups = new Map<string, { userId: number; type: string; target: number; events: TriggerEvent[] }>();
    for (const event of events) {
      if (event.type === 'manual') continue;
      const target = event.type === 'subscription' || event.type === 'unsubscription' ? event.listId : (event.emailId ?? 0);
      const key = `${event.userId}|${event.type}|${target}`;
      const group = groups.get(key) ?? { userId: event.userId, type: event.type, target, events: [] };
      group.events.push(event);
      groups.set(key, group);
    }
    const requests: EnrolRequest[] = [];
    for (const group of groups.values()) {
      const rows = await select<{ JourneyID: number }>(
        this.sequelize,
        `SELECT DISTINCT JourneyID FROM \`${this.tables.triggers}\`
          WHERE RelOwnerUserID = ? AND TriggerType = ? AND Enabled = 1 AND TargetID IN (0, ?)`,
        [group.userId, group.type, group.target],
        tx,
      );
      if (rows.length === 0) continue;
      const journeys = await this.journeys.load(
        rows.map((r) => Number(r.JourneyID)),
        tx,
      );
      for (const journey of journeys.values()) {
        if (!journey.enabled || journey.definition.ownerUserId !== group.userId) continue;
        for (const event of group.events) {
          if (!matchesTrigger(journey.definition.trigger, event)) continue;
          requests.push({
            journey,
            ref: { listId: event.listId, subscriberId: event.subscriberId },
            chainId: (event.causation?.chainId ?? event.eventId).slice(0, 128),
            chainDepth: event.causation?.depth ?? 0,
            triggerEvent: JSON.stringify(event),
            eventId: event.eventId,
          });
        }
      }
    }
    return requests;
  }

  /**
   * Inserts entries for these requests inside `tx`: skips subscribers with a
   * live entry, "once" journeys already passed, and records loop refusals.
   * Callers queue `entries` after commit.
   */
  async enrol(requests: readonly EnrolRequest[], tx: Transaction): Promise<EnrolResult> {
    const result: EnrolResult = { enrolled: 0, refused: 0, entries: [], byEvent: new Map() };
    if (requests.length === 0) return result;
    const now = sqlDate(this.clock.now());
    const touchedJourneys = new Set<number>();
    for (const admitted of await this.admit(requests, tx)) {
      const journey = admitted.journey.definition;
      const listId = admitted.listId;
      const part = admitted.entries.map((a) => a.request);
      const rows: unknown[][] = [];
      let refusedHere = 0;
      for (const { request, entryNumber, refusedReason } of admitted.entries) {
        const base = [journey.journeyId, journey.ownerUserId, listId, request.ref.subscriberId, entryNumber];
        const tail = [journey.version, request.chainId, request.chainDepth, request.triggerEvent, now, now];
        if (refusedReason) {
          refusedHere++;
          rows.push([...base, 'exited', null, ...tail, null, now, refusedReason]);
        } else {
          rows.push([...base, 'active', 1, ...tail, null, null, null]);
        }
      }
      const { affectedRows } = await execute(
        this.sequelize,
        `INSERT IGNORE INTO \`${this.tables.entries}\`
           (JourneyID, RelOwnerUserID, ListID, SubscriberID, EntryNumber, State, ActiveLock,
            JourneyVersion, ChainID, ChainDepth, TriggerEvent, CreatedAt, UpdatedAt, WakeAt, EndedAt, ExitReason)
         VALUES ?`,
        [rows],
        tx,
      );
      result.enrolled += affectedRows - refusedHere;
      result.refused += refusedHere;
      this.noteRefused(journey.journeyId, refusedHere);
      if (affectedRows > refusedHere) {
        touchedJourneys.add(journey.journeyId);
        const fresh = await select<{ EntryID: number; StepSeq: number; SubscriberID: number; CreatedAt: Date }>(
          this.sequelize,
          `SELECT EntryID, StepSeq, SubscriberID, CreatedAt FROM \`${this.tables.entries}\`
            WHERE JourneyID = ? AND ListID = ? AND SubscriberID IN (?) AND ActiveLock = 1 AND State = 'active' AND StepSeq = 0`,
          [journey.journeyId, listId, part.map((r) => r.ref.subscriberId)],
          tx,
        );
        const bySubscriber = new Map(part.map((r) => [r.ref.subscriberId, r]));
        for (const row of fresh) {
          result.entries.push({ entryId: Number(row.EntryID), stepSeq: Number(row.StepSeq) });
          const eventId = bySubscriber.get(Number(row.SubscriberID))?.eventId;
          if (eventId && sqlDate(new Date(row.CreatedAt)) === now) result.byEvent.set(eventId, (result.byEvent.get(eventId) ?? 0) + 1);
        }
      }
    }
    const touch = this.journeys.activityToTouch(touchedJourneys);
    if (touch.length > 0) await execute(this.sequelize, `UPDATE \`${this.tables.journeys}\` SET LastActivityAt = ? WHERE JourneyID IN (?)`, [now, touch], tx);
    this.metrics.enrolled.inc(result.enrolled);
    return result;
  }

  /**
   * Which requests may enter, per journey and list (chunks of
   * ROWS_PER_INSERT, one request per subscriber): not while the subscriber
   * has a live entry there, not again in a "once" journey; beyond the loop
   * bound they are admitted as refusals. A non-locking read: the live-entry
   * key decides at insert time. `known`: the history already read by the
   * caller (every entry of these subscribers in these journeys).
   */
  async admit(requests: readonly EnrolRequest[], tx: Transaction, known?: EntryHistory): Promise<AdmittedGroup[]> {
    const groups = new Map<string, EnrolRequest[]>();
    for (const request of requests) {
      const key = `${request.journey.definition.journeyId}|${request.ref.listId}`;
      const group = groups.get(key) ?? [];
      group.push(request);
      groups.set(key, group);
    }
    const out: AdmittedGroup[] = [];
    for (const group of groups.values()) {
      const journey = group[0].journey.definition;
      const listId = group[0].ref.listId;
      for (const part of chunk([...new Map(group.map((r) => [r.ref.subscriberId, r])).values()], ROWS_PER_INSERT)) {
        const history = known
          ? part.flatMap((r) => {
              const h = known.get(historyKey(journey.journeyId, listId, r.ref.subscriberId));
              return h ? [{ SubscriberID: r.ref.subscriberId, ...h }] : [];
            })
          : await select<{ SubscriberID: number; n: number; live: number | null }>(
              this.sequelize,
              `SELECT SubscriberID, COUNT(*) AS n, MAX(ActiveLock) AS live FROM \`${this.tables.entries}\`
                WHERE JourneyID = ? AND ListID = ? AND SubscriberID IN (?) GROUP BY SubscriberID`,
              [journey.journeyId, listId, part.map((r) => r.ref.subscriberId)],
              tx,
            );
        const past = new Map(history.map((h) => [Number(h.SubscriberID), h]));
        const entries: AdmittedEntry[] = [];
        for (const request of part) {
          const before = past.get(request.ref.subscriberId);
          if (before?.live) continue;
          if (before && journey.reEntry === 'once') continue;
          const refusedReason =
            request.chainDepth > MAX_CHAIN_DEPTH
              ? `Loop stopped: causation chain ${request.chainId} reached depth ${request.chainDepth} (limit ${MAX_CHAIN_DEPTH})`
              : null;
          entries.push({ request, entryNumber: Number(before?.n ?? 0) + 1, refusedReason });
        }
        if (entries.length > 0) out.push({ journey: group[0].journey, listId, entries });
      }
    }
    return out;
  }

  /** Counts and reports enrolments the loop bound refused. */
  noteRefused(journeyId: number, refused: number): void {
    if (refused === 0) return;
    this.metrics.loopsRefused.inc(refused);
    this.logger.warn(`journey ${journeyId}: ${refused} enrolment(s) refused by the loop bound (depth > ${MAX_CHAIN_DEPTH})`);
  }

  /** Enrols subscribers into one journey outside any trigger (API, Start Journey from outside a step). */
  async enrolRefs(journey: RuntimeJourney, refs: readonly SubscriberRef[], causation: CausationContext): Promise<EnrolResult> {
    const result = await this.sequelize.transaction({ isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED }, (tx) =>
      this.enrol(
        refs.map((ref) => ({ journey, ref, chainId: causation.chainId.slice(0, 128), chainDepth: causation.depth, triggerEvent: null })),
        tx,
      ),
    );
    await this.queueAfterCommit([], result.entries);
    return result;
  }
}
