/**
 * Puts entry work on the Bull queue. Only wakes work: what to do is read from
 * MySQL when the job runs. Entries due beyond the wake horizon are not queued
 * at all (the sweeper queues them when they come near), so a million long
 * waits cost Redis nothing.
 *
 * Never holds its caller for Redis: every add is for work already committed
 * in MySQL, which the sweeper queues again should the add not happen. So while
 * the connection is lost adds are skipped, an add gets QUEUE_ADD_TIMEOUT_MS to
 * answer, and a failed one is counted, not thrown (QueueConnection logs the
 * outage once).
 */
import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable } from '@nestjs/common';
import type { JobOptions, Queue } from 'bull';
import { withinMs } from '../common/time-limit';
import type { AppConfig } from '../config/env';
import { CLOCK, PLUGIN_CONFIG, type Clock } from '../core/tokens';
import { QueueConnection } from './queue-connection';
import { chunk, ENTRY_BATCH_SIZE, ENTRY_QUEUE, JOB_RUN_ENTRIES, runJobId, runJobOptions, type EntryStep, type RunEntriesJobData } from './queues';

/**
 * How long an add may take before its caller goes on without it. Redis
 * answers an add in milliseconds; this only bounds a command caught by a
 * connection that breaks or stalls (ioredis would keep it until it returns).
 */
export const QUEUE_ADD_TIMEOUT_MS = 1000;

interface RunJob {
  name: string;
  data: RunEntriesJobData;
  opts: JobOptions;
}

export interface TimedEntryStep extends EntryStep {
  wakeAt: Date;
}

@Injectable()
export class EntryQueue {
  constructor(
    @InjectQueue(ENTRY_QUEUE) readonly queue: Queue<RunEntriesJobData>,
    readonly connection: QueueConnection,
    @Inject(PLUGIN_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Queue these entries to run now, in jobs of ENTRY_BATCH_SIZE. Returns how many were queued. */
  async runNow(steps: readonly EntryStep[]): Promise<number> {
    if (steps.length === 0) return 0;
    const jobs = chunk(steps, ENTRY_BATCH_SIZE).map((batch) => ({
      name: JOB_RUN_ENTRIES,
      data: { entryIds: batch.map((s) => s.entryId) },
      opts: runJobOptions(runJobId(batch)),
    }));
    return this.add(jobs);
  }

  /**
   * Queue entries for their wake time: those already due run now, those due
   * within the horizon get delayed jobs (grouped by wake time), later ones are
   * left to the sweeper. Returns how many were queued.
   */
  async runAt(steps: readonly TimedEntryStep[]): Promise<number> {
    const now = this.clock.now().getTime();
    const horizon = now + this.config.WAKE_HORIZON_SECONDS * 1000;
    const due: EntryStep[] = [];
    const byTime = new Map<number, EntryStep[]>();
    for (const step of steps) {
      const at = step.wakeAt.getTime();
      if (at <= now) due.push(step);
      else if (at <= horizon) {
        const group = byTime.get(at) ?? [];
        group.push(step);
        byTime.set(at, group);
      }
    }
    const jobs: RunJob[] = [];
    for (const [at, group] of byTime) {
      for (const batch of chunk(group, ENTRY_BATCH_SIZE)) {
        jobs.push({ name: JOB_RUN_ENTRIES, data: { entryIds: batch.map((s) => s.entryId) }, opts: runJobOptions(runJobId(batch, true), at - now) });
      }
    }
    return (await this.add(jobs)) + (await this.runNow(due));
  }

  /** Queues work for entries a transaction has just committed: the wake-ups, then those that run now. */
  async afterCommit(wakes: readonly TimedEntryStep[], runNow: readonly EntryStep[]): Promise<void> {
    await this.runAt(wakes);
    await this.runNow(runNow);
  }

  /** Adds the jobs unless the connection is lost, within QUEUE_ADD_TIMEOUT_MS; returns the entries queued (0 when skipped or failed). */
  private async add(jobs: readonly RunJob[]): Promise<number> {
    const entries = jobs.reduce((n, j) => n + j.data.entryIds.length, 0);
    if (entries === 0) return 0;
    if (!this.connection.available) {
      this.connection.skipped(entries);
      return 0;
    }
    try {
      await withinMs(this.queue.addBulk([...jobs]), QUEUE_ADD_TIMEOUT_MS);
    } catch (error) {
      this.connection.addFailed(entries, error);
      return 0;
    }
    this.connection.addSucceeded();
    return entries;
  }
}
