/**
 * The Bull worker of the entry queue. Registered only in the `all` and
 * `worker` roles, with WORKER_CONCURRENCY jobs at a time per process; any
 * number of processes may consume the same queue.
 *
 * One job runs its entries' instant actions back to back (StepRunner.step),
 * carries out the external actions that step claimed, and continues those
 * entries after them, until every entry waits, ended or failed.
 */
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Job } from 'bull';
import type { AppConfig } from '../config/env';
import { PLUGIN_CONFIG } from '../core/tokens';
import { EntryQueue } from './entry-queue.service';
import { StepRunner } from './step/step-runner';
import { EntryScheduler } from './entry-scheduler';
import { ExternalActions } from './external/external-actions';
import { JOB_RUN_ENTRIES, type RunEntriesJobData } from './queues';
import { MAX_ROUNDS_PER_JOB } from './runtime.limits';

@Injectable()
export class EntryWorker {
  constructor(
    private readonly runner: StepRunner,
    private readonly external: ExternalActions,
    private readonly scheduler: EntryScheduler,
  ) {}

  /** Runs these entries as far as they go now. Safe to call twice with the same ids: moved entries are skipped. */
  async run(entryIds: readonly number[]): Promise<{ moved: number }> {
    let ids = [...entryIds];
    let moved = 0;
    for (let round = 0; ids.length > 0; round++) {
      if (round === MAX_ROUNDS_PER_JOB) {
        await this.scheduler.schedule(ids); // a very long chain of external actions: continue in a fresh job
        break;
      }
      const report = await this.runner.step(ids);
      moved += report.moved;
      if (report.externals.length === 0) break;
      ids = await this.external.carryOut(report.externals);
    }
    return { moved };
  }
}

@Injectable()
export class EntryProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('JourneysWorker');

  constructor(
    @Inject(PLUGIN_CONFIG) private readonly config: AppConfig,
    private readonly entryQueue: EntryQueue,
    private readonly worker: EntryWorker,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.ROLE === 'web') return;
    void this.entryQueue.queue.process(JOB_RUN_ENTRIES, this.config.WORKER_CONCURRENCY, (job: Job<RunEntriesJobData>) => this.worker.run(job.data.entryIds));
    this.entryQueue.queue.on('failed', (job, error) => this.logger.warn(`job ${job.id} failed (attempt ${job.attemptsMade}): ${error.message}`));
  }

  /** Stops taking jobs and lets the running ones finish before the database closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.entryQueue.queue.close().catch((error: Error) => this.logger.warn(`closing the queue: ${error.message}`));
  }
}
