/**
 * The sweeper: MySQL is the truth, so every SWEEP_INTERVAL_SECONDS it
 * - hands waits due within WAKE_HORIZON_SECONDS to Bull (a wait of months
 *   never touches Redis until it is near; one lost from Redis is queued again),
 * - re-queues active entries nobody has touched for a minute (their job was
 *   lost: Redis flushed, a worker died mid-job),
 * - prunes processed event ids past their retention.
 * Job ids are deterministic, so several processes sweeping at once queue each
 * piece of work once; entries of disabled journeys stay frozen.
 *
 * While the Redis connection is lost a sweep only prunes. When it comes back
 * the sweeper sweeps at once, counting every active entry as stale: the
 * entries enrolled or moved meanwhile were not queued, and a Redis that
 * restarted empty lost the jobs of the others (a job queued twice finds its
 * entries moved on and does nothing).
 */
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { AppConfig } from '../config/env';
import { CLOCK, PLUGIN_CONFIG, type Clock } from '../core/tokens';
import { EntryQueue } from './entry-queue.service';
import { EntryStore } from './entry-store';
import { ProcessedEvents } from './intake/processed-events';
import { SubscriberEvents } from './intake/subscriber-events';
import { EVENT_RETENTION_MS, STALE_ACTIVE_MS } from './runtime.limits';

const PAGE = 5000;
/** Bound per sweep, so one sweep never holds a process for long; the next one continues. */
const MAX_PER_SWEEP = 200_000;

export interface SweepReport {
  waits: number;
  stale: number;
  prunedEvents: number;
}

@Injectable()
export class Sweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('JourneysSweeper');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<SweepReport> | null = null;

  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PLUGIN_CONFIG) private readonly config: AppConfig,
    private readonly queue: EntryQueue,
    private readonly store: EntryStore,
    private readonly events: ProcessedEvents,
    private readonly subscriberEvents: SubscriberEvents,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.ROLE === 'web') return;
    this.timer = setInterval(() => {
      this.sweep().catch((error: Error) => this.logger.warn(`sweep failed: ${error.message}`));
    }, this.config.SWEEP_INTERVAL_SECONDS * 1000);
    this.timer.unref();
    this.queue.connection.onRestored(() => {
      this.sweepAfterOutage().catch((error: Error) => this.logger.warn(`sweep after the Redis outage failed: ${error.message}`));
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /**
   * One sweep; concurrent calls in one process share the running sweep.
   * `activeBefore`: re-queue active entries untouched since then (by default
   * STALE_ACTIVE_MS ago).
   */
  sweep(options: { activeBefore?: Date } = {}): Promise<SweepReport> {
    this.running ??= this.sweepOnce(options.activeBefore).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** After a sweep that may have run while Redis was away: every active entry is queued again. */
  private async sweepAfterOutage(): Promise<SweepReport> {
    await this.running?.catch(() => undefined);
    return this.sweep({ activeBefore: this.clock.now() });
  }

  private async sweepOnce(activeBefore?: Date): Promise<SweepReport> {
    const now = this.clock.now();
    const horizon = new Date(now.getTime() + this.config.WAKE_HORIZON_SECONDS * 1000);
    const report: SweepReport = { waits: 0, stale: 0, prunedEvents: 0 };
    if (this.queue.connection.available) await this.requeue(horizon, activeBefore ?? new Date(now.getTime() - STALE_ACTIVE_MS), report);
    report.prunedEvents = await this.events.prune(new Date(now.getTime() - EVENT_RETENTION_MS));
    await this.subscriberEvents.prune(new Date(now.getTime() - EVENT_RETENTION_MS));
    return report;
  }

  /** Waits due within the horizon and active entries untouched since `activeBefore`, back to the queue. */
  private async requeue(horizon: Date, activeBefore: Date, report: SweepReport): Promise<void> {
    let cursor: { at: Date | null; id: number } = { at: null, id: 0 };
    while (report.waits < MAX_PER_SWEEP) {
      const rows = await this.store.dueWaits(horizon, cursor, PAGE);
      if (rows.length === 0) break;
      await this.queue.runAt(rows.map((r) => ({ entryId: Number(r.EntryID), stepSeq: Number(r.StepSeq), wakeAt: new Date(r.WakeAt) })));
      report.waits += rows.length;
      const last = rows[rows.length - 1];
      cursor = { at: new Date(last.WakeAt), id: Number(last.EntryID) };
      if (rows.length < PAGE) break;
    }

    let after = 0;
    while (report.stale < MAX_PER_SWEEP) {
      const rows = await this.store.staleActive(activeBefore, after, PAGE);
      if (rows.length === 0) break;
      await this.queue.runNow(rows.map((r) => ({ entryId: Number(r.EntryID), stepSeq: Number(r.StepSeq) })));
      report.stale += rows.length;
      after = Number(rows[rows.length - 1].EntryID);
      if (rows.length < PAGE) break;
    }
  }
}
