/**
 * Puts entry work on the Bull queue. Only wakes work: what to do is read from
 * MySQL when the job runs. Entries due beyond the wake horizon are not queued
 * at all (the sweeper queues them when they come near), so a million long
 * waits cost Redis nothing.
 */
import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bull';
import type { AppConfig } from '../config/env';
import { CLOCK, PLUGIN_CONFIG, type Clock } from '../core/tokens';
import { chunk, ENTRY_BATCH_SIZE, ENTRY_QUEUE, JOB_RUN_ENTRIES, runJobId, runJobOptions, type EntryStep, type RunEntriesJobData } from './queues';

export interface TimedEntryStep extends EntryStep {
  wakeAt: Date;
}

@Injectable()
export class EntryQueue {
  private readonly logger = new Logger('JourneysQueue');
  constructor(
    @InjectQueue(ENTRY_QUEUE) readonly queue: Queue<RunEntriesJobData>,
    @Inject(PLUGIN_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Queue these entries to run now, in jobs of ENTRY_BATCH_SIZE. */
  async runNow(steps: readonly EntryStep[]): Promise<void> {
    if (steps.length === 0) return;
    const jobs = chunk(steps, ENTRY_BATCH_SIZE).map((batch) => ({
      name: JOB_RUN_ENTRIES,
      data: { entryIds: batch.map((s) => s.entryId) },
      opts: runJobOptions(runJobId(batch)),
    }));
    await this.queue.addBulk(jobs);
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
    const jobs: { name: string; data: RunEntriesJobData; opts: ReturnType<typeof runJobOptions> }[] = [];
    for (const [at, group] of byTime) {
      for (const batch of chunk(group, ENTRY_BATCH_SIZE)) {
        jobs.push({ name: JOB_RUN_ENTRIES, data: { entryIds: batch.map((s) => s.entryId) }, opts: runJobOptions(runJobId(batch, true), at - now) });
      }
    }
    if (jobs.length > 0) await this.queue.addBulk(jobs);
    await this.runNow(due);
    return due.length + jobs.reduce((n, j) => n + j.data.entryIds.length, 0);
  }

  /**
   * Queues work for entries already committed. Redis only wakes work: if it is
   * away, the entries are in MySQL and the sweeper queues them later, so the
   * caller is not told that its (committed) work failed.
   */
  async afterCommit(wakes: readonly TimedEntryStep[], runNow: readonly EntryStep[]): Promise<void> {
    try {
      await this.runAt(wakes);
      await this.runNow(runNow);
    } catch (error) {
      this.logger.warn(`queueing ${wakes.length + runNow.length} entries failed (the sweeper will pick them up): ${(error as Error).message}`);
    }
  }
}
