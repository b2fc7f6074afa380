/**
 * The trigger intake: trigger events in, entries out.
 *
 * Single events are coalesced into batches (EventCoalescer: the busier the
 * stream, the bigger the batches). One transaction per batch: the event ids
 * are recorded (a repeated id enrols nobody), entries waiting for the batch's
 * opens, clicks and conversions take their step (WokenEntries), the matching
 * journeys are found (TriggerMatcher), and the subscribers admitted and
 * inserted where their first step leaves them (ListImport: a single event
 * takes the same path as a list import, so its first instant actions commit
 * with its enrolment and no job round trip is needed). What comes next
 * (wake-ups, external actions) is queued once the transaction has committed.
 * Each caller's answer comes after that commit, so an event the intake
 * answered for is never lost; a single event's caller is answered at the
 * commit and its batch slot freed, with the queueing after it. Nothing waits
 * for Redis: while Redis is away the queueing is skipped and the sweeper
 * queues the committed entries later (EntryQueue, QueueConnection).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { performance } from 'perf_hooks';
import { Gauge } from 'prom-client';
import type { AppConfig } from '../../config/env';
import { CLOCK, DB, PLUGIN_CONFIG, type Clock } from '../../core/tokens';
import { isTransientDbError, withDbRetry, type Db, type SqlTransaction } from '../../database/db';
import type { TriggerEvent } from '../../engine/trigger-event';
import type { SubscriberRef } from '../../engine/host-facts.types';
import { EntryQueue } from '../entry-queue.service';
import { chunk, type EntryStep } from '../queues';
import { RuntimeMetrics } from '../runtime.metrics';
import { EventWaits } from '../step/event-waits';
import { FreshEnrolmentRace, ListImport, type FirstStepFollowUps } from '../step/list-import';
import { ROWS_PER_INSERT } from './admission';
import { Enrolment, emptyEnrolResult, type EnrolResult } from './enrolment';
import { EventCoalescer } from './event-coalescer';
import { ProcessedEvents } from './processed-events';
import { SubscriberEvents } from './subscriber-events';
import type { TriggerIntake } from '../trigger-intake';
import { TriggerMatcher } from './trigger-matcher';
import { WokenEntries } from '../step/woken-entries';

export interface AcceptManyResult {
  enrolled: number;
  duplicates: number;
  refused: number;
  /** Entries made per event id; a duplicate or unmatched event is absent. */
  byEvent: Map<string, number>;
}

/**
 * Chunks of one acceptMany call enrolled at the same time: while one chunk's
 * statements run, Node prepares another's and MariaDB commits a third. On a
 * 2-core machine two measured +45% over one, three another +10% (acceptMany
 * of 100,000: 14,400 → 16,100 entries/s, MariaDB then at 1.1 cores); each
 * holds a connection while it runs.
 */
const CHUNKS_IN_FLIGHT = 3;

/** Events coalesced into one batch at most (one multi-row INSERT). */
const COALESCE_MAX = ROWS_PER_INSERT;
/** Coalesced batches in flight at once (each holds a connection; see POOL_HEADROOM). */
const COALESCE_IN_FLIGHT = 2;
/**
 * The second batch starts only while this many events wait: at moderate rates
 * one transaction at a time makes bigger batches and two do not contend in
 * MariaDB (opens into Wait for event via the hook bus, three alternating runs:
 * p99 at 2,000/s 87-351 ms with two always, 87-135 ms with this; at 4,000/s
 * 290-996 ms and 153-374 ms; at 1,000/s 69-146 and 76-115 ms).
 */
const COALESCE_SECOND_BATCH_AT = 200;

export interface AcceptOptions {
  /**
   * Answer once the batch has committed, and queue what comes next after the
   * answer (the coalesced single events: their batch slot is free for the next
   * batch at commit, not after Redis answered). Default: answer after queueing.
   */
  answerAtCommit?: boolean;
}

/** Another process recorded some of the batch's event ids meanwhile. */
class EventRace extends Error {}

interface BatchOutcome extends EnrolResult {
  duplicates: number;
  followUps: FirstStepFollowUps;
  /** Subscribers with new opens, clicks or conversions. */
  touched: SubscriberRef[];
  /** Their entries the batch stepped: the look after commit leaves them out. */
  stepped: ReadonlySet<number>;
}

@Injectable()
export class TriggerIntakeService implements TriggerIntake {
  private readonly logger = new Logger('JourneysIntake');
  private readonly coalescer: EventCoalescer<TriggerEvent, { enrolled: number }>;

  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly events: ProcessedEvents,
    private readonly matcher: TriggerMatcher,
    private readonly enrolment: Enrolment,
    private readonly listImport: ListImport,
    private readonly queue: EntryQueue,
    private readonly metrics: RuntimeMetrics,
    private readonly subscriberEvents: SubscriberEvents,
    private readonly eventWaits: EventWaits,
    private readonly woken: WokenEntries,
    @Inject(PLUGIN_CONFIG) config: AppConfig,
  ) {
    const coalescer = (this.coalescer = new EventCoalescer({
      maxBatch: COALESCE_MAX,
      maxInFlight: COALESCE_IN_FLIGHT,
      extraBatchAt: COALESCE_SECOND_BATCH_AT,
      maxWaiting: config.INTAKE_MAX_BACKLOG,
      run: async (events: TriggerEvent[]) => {
        const { byEvent } = await this.acceptMany(events, { answerAtCommit: true });
        // The same event twice in one batch: the first caller gets the entries, the repeat none.
        const seen = new Set<string>();
        return events.map((event) => {
          const enrolled = seen.has(event.eventId) ? 0 : (byEvent.get(event.eventId) ?? 0);
          seen.add(event.eventId);
          return { enrolled };
        });
      },
    }));
    new Gauge({
      name: 'journeys_intake_backlog',
      help: 'Trigger events accepted by the intake and not yet committed (waiting for a batch or in one)',
      registers: [metrics.registry],
      collect() {
        this.set(coalescer.backlog);
      },
    });
  }

  /**
   * One event; events arriving at the same time are coalesced into one batch,
   * and each caller learns what its own event made. When the backlog is full
   * the caller waits for room (backpressure).
   */
  accept(event: TriggerEvent): Promise<{ enrolled: number }> {
    const handedIn = performance.now();
    return this.coalescer.submit(event).then((result) => {
      this.metrics.eventToEffect.observe((performance.now() - handedIn) / 1000);
      return result;
    });
  }

  /** Events accepted and not yet answered. */
  get backlog(): number {
    return this.coalescer.backlog;
  }

  /** The backlog is at its bound: a caller that can refuse (the HTTP ingest) should ask the sender to come back later. */
  get saturated(): boolean {
    return this.coalescer.full;
  }

  /**
   * A batch of events (a list import): a handful of round trips per chunk of
   * ROWS_PER_INSERT events, CHUNKS_IN_FLIGHT chunks at a time (each its own
   * transaction). Chunks share no event id; should two hold the same
   * subscriber, the live-entry key and the row locks sort them out (a
   * deadlock is retried). After a failed chunk no new one starts; the first
   * error is thrown once the running ones have finished.
   */
  async acceptMany(events: readonly TriggerEvent[], options: AcceptOptions = {}): Promise<AcceptManyResult> {
    const unique = [...new Map(events.map((e) => [e.eventId, e])).values()];
    const total: AcceptManyResult = { enrolled: 0, duplicates: events.length - unique.length, refused: 0, byEvent: new Map() };
    const parts = chunk(unique, ROWS_PER_INSERT);
    let next = 0;
    let failure: { error: unknown } | null = null;
    const lane = async () => {
      while (!failure && next < parts.length) {
        const batch = parts[next++];
        try {
          add(total, await this.acceptChunk(batch, options));
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
  private async acceptChunk(batch: TriggerEvent[], options: AcceptOptions): Promise<AcceptManyResult> {
    try {
      // Optimistic first (a list import has no repeats): the insert's count says whether any id was seen before.
      return await withDbRetry(() =>
        this.acceptBatch(batch, false, options).catch((error) => {
          if (error instanceof EventRace) return this.acceptBatch(batch, true, options);
          throw error;
        }),
      );
    } catch (error) {
      if (!(error instanceof EventRace)) throw error;
      // Another process recorded some of these ids meanwhile: go one by one, where INSERT IGNORE tells exactly.
      const result: AcceptManyResult = { enrolled: 0, duplicates: 0, refused: 0, byEvent: new Map() };
      for (const event of batch) {
        add(
          result,
          await withDbRetry(() => this.acceptBatch([event], false, options)).catch((e) => {
            if (e instanceof EventRace) return { enrolled: 0, duplicates: 1, refused: 0, byEvent: new Map<string, number>() };
            throw e;
          }),
        );
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
  private async acceptBatch(events: TriggerEvent[], preselect: boolean, options: AcceptOptions): Promise<AcceptManyResult> {
    const now = this.clock.now();
    const outcome = await this.db.transaction(async (tx): Promise<BatchOutcome> => {
      const seen = preselect
        ? await this.events.seen(
            events.map((e) => e.eventId),
            tx,
          )
        : new Set<string>();
      const fresh = events.filter((e) => !seen.has(e.eventId));
      const nothing = (duplicates: number): BatchOutcome => ({
        ...emptyEnrolResult(),
        duplicates,
        followUps: noFollowUps(),
        touched: [],
        stepped: new Set(),
      });
      if (fresh.length === 0) return nothing(events.length);
      const recorded = await this.events.record(
        fresh.map((e) => e.eventId),
        now,
        tx,
      );
      if (recorded === 0) return nothing(events.length); // every id was seen before
      if (recorded !== fresh.length) throw new EventRace();
      const duplicates = events.length - fresh.length;
      // Opens, clicks and conversions are kept for goals and Wait for event; the entries they move take their step here.
      const touched = await this.subscriberEvents.record(tx, fresh, now);
      const woken = await this.stepWoken(tx, touched, now);
      const requests = await this.matcher.match(tx, fresh);
      if (requests.length > 0) {
        try {
          // Each new entry inserted where its first step leaves it. In a savepoint: a race with another
          // enrolment, or a step that cannot be done here, falls back to the path below.
          const enrolled = await tx.savepoint((sp) => this.listImport.enrolFresh(sp, requests));
          return { ...enrolled, duplicates, followUps: joinFollowUps(woken.followUps, enrolled.followUps), touched, stepped: woken.stepped };
        } catch (error) {
          if (isTransientDbError(error)) throw error;
          if (!(error instanceof FreshEnrolmentRace))
            this.logger.warn(`fresh enrolment of ${requests.length} requests fell back to insert-then-step: ${(error as Error).message}`);
        }
      }
      const enrolled = await this.enrolment.enrol(tx, requests);
      const firstSteps = await this.firstStepInline(tx, enrolled.entries);
      return { ...enrolled, duplicates, followUps: joinFollowUps(woken.followUps, firstSteps), touched, stepped: woken.stepped };
    });
    const followUp = this.afterCommit(outcome);
    if (options.answerAtCommit) void followUp;
    else await followUp;
    return { enrolled: outcome.enrolled, duplicates: outcome.duplicates, refused: outcome.refused, byEvent: outcome.byEvent };
  }

  /**
   * The step of entries these subscribers' new events may move, in a
   * savepoint (WokenEntries): if it cannot be done here, the events still
   * stand and the entries are queued after commit.
   */
  private async stepWoken(tx: SqlTransaction, touched: SubscriberRef[], now: Date): Promise<Pick<BatchOutcome, 'followUps' | 'stepped'>> {
    if (touched.length === 0) return { followUps: noFollowUps(), stepped: new Set() };
    try {
      return await tx.savepoint((sp) => this.woken.stepInline(sp, touched, now));
    } catch (error) {
      if (isTransientDbError(error)) throw error;
      this.logger.warn(`entries woken by ${touched.length} subscribers' events left to the workers: ${(error as Error).message}`);
      return { followUps: noFollowUps(), stepped: new Set() };
    }
  }

  /** The first step of entries this transaction inserted, in a savepoint: if it cannot be done here, the entries still stand and go to the queue. */
  private async firstStepInline(tx: SqlTransaction, entries: EntryStep[]): Promise<FirstStepFollowUps> {
    if (entries.length === 0) return noFollowUps();
    try {
      return await tx.savepoint((sp) => this.listImport.stepFresh(sp, entries));
    } catch (error) {
      if (isTransientDbError(error)) throw error;
      this.logger.warn(`first step of ${entries.length} new entries left to the workers: ${(error as Error).message}`);
      return { ...noFollowUps(), runNow: entries };
    }
  }

  /** What a committed batch leaves to queue. Never throws: queueing is best effort (the sweeper catches up). */
  private async afterCommit(outcome: BatchOutcome): Promise<void> {
    try {
      await this.queue.afterCommit(outcome.followUps.wakes, outcome.followUps.runNow);
    } catch (error) {
      this.logger.warn(`queueing after commit failed (the sweeper queues the entries): ${(error as Error).message}`);
    }
    await this.moveWaiting(outcome);
  }

  /**
   * After commit: entries these events may move that the batch did not step
   * (they started waiting while it ran, or its step could not be done), and
   * entries that started waiting for an event and had one meanwhile, run now.
   * Best effort, like any queueing: should MySQL fail this read, or Redis be
   * away, the step at their wake time still finds the events in MySQL.
   */
  private async moveWaiting(outcome: BatchOutcome): Promise<void> {
    try {
      await this.eventWaits.wake(outcome.touched, outcome.stepped);
      await this.eventWaits.catchUp(outcome.followUps.eventWaits);
    } catch (error) {
      this.logger.warn(`waking entries that wait for events failed (they move at their wake time): ${(error as Error).message}`);
    }
  }
}

function noFollowUps(): FirstStepFollowUps {
  return { wakes: [], runNow: [], eventWaits: [] };
}

function joinFollowUps(a: FirstStepFollowUps, b: FirstStepFollowUps): FirstStepFollowUps {
  return { wakes: [...a.wakes, ...b.wakes], runNow: [...a.runNow, ...b.runNow], eventWaits: [...a.eventWaits, ...b.eventWaits] };
}

function add(total: AcceptManyResult, part: AcceptManyResult): void {
  total.enrolled += part.enrolled;
  total.duplicates += part.duplicates;
  total.refused += part.refused;
  for (const [id, n] of part.byEvent) total.byEvent.set(id, n);
}
