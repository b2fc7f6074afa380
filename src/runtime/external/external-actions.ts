/**
 * Carries out the actions whose effect lies outside the plug-in's tables,
 * through the executor of each action type (ExternalExecutors).
 *
 * Each was claimed by the step transaction (log row `pending`, LeaseUntil).
 * Only the lease holder carries it out; a crashed worker's lease runs out and
 * the sweeper hands the entry to another. Success marks the log row done and
 * the entry continues after the action; a transient failure schedules a retry
 * as the entry's wake time (exponential backoff with jitter, Retry-After
 * honoured); a permanent one parks the entry as failed with the error.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { JourneysException } from '../../common/journeys.exception';
import type { AppConfig } from '../../config/env';
import { CLOCK, PLUGIN_CONFIG, type Clock } from '../../core/tokens';
import { isTransientDbError } from '../../database/db';
import { PermanentHostError } from '../../host/host.ports';
import { EntryQueue } from '../entry-queue.service';
import { EntryStore } from '../entry-store';
import type { PendingExternal } from '../entry.types';
import { runLimited } from '../host-facts';
import { RuntimeMetrics } from '../runtime.metrics';
import { EXTERNAL_MAX_ATTEMPTS, externalLeaseMs } from '../runtime.limits';
import { retryDelayMs } from '../webhook-sender';
import type { ExternalActionType } from '../../engine/action-registry';
import { assertExecutorsComplete, type ExternalExecutor, type ExternalExecutors, type ExternalOutcome, type PendingOf } from './executors';
import { SubscribeExecutor, UnsubscribeExecutor } from './subscription-executors';
import { WebhookExecutor } from './webhook-executor';

const WEBHOOK_CONCURRENCY = 32;
const HOST_PATH_CONCURRENCY = 4;
/** A deadlock or lock timeout in the host's path is retried on the spot a few times before it counts as a failed attempt. */
const HOST_PATH_QUICK_RETRIES = 3;

@Injectable()
export class ExternalActions {
  private readonly logger = new Logger('JourneysExternal');
  private readonly executors: ExternalExecutors;
  private readonly leaseMs: number;

  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PLUGIN_CONFIG) config: AppConfig,
    private readonly store: EntryStore,
    private readonly queue: EntryQueue,
    private readonly metrics: RuntimeMetrics,
    subscribe: SubscribeExecutor,
    unsubscribe: UnsubscribeExecutor,
    webhook: WebhookExecutor,
  ) {
    this.executors = { subscribe, unsubscribe, webhook };
    this.leaseMs = externalLeaseMs(config);
    assertExecutorsComplete(this.executors);
  }

  /** Carries out these actions; returns the entries that may continue now. */
  async carryOut(items: readonly PendingExternal[]): Promise<number[]> {
    const continued: number[] = [];
    const task = (item: PendingExternal) => async () => {
      const now = this.clock.now();
      const attempt = item.attempt ?? (await this.store.takeLease(item.entry, item.action.id, item.action.type, now, new Date(now.getTime() + this.leaseMs)));
      if (attempt === null) return; // another worker holds it, or its next attempt is not due yet
      const outcome = await this.perform(item);
      if (await this.record(item, attempt, outcome)) continued.push(item.entry.EntryID);
    };
    // The host's subscription path takes row locks on its own tables: a few at a time; webhooks are I/O-bound.
    await Promise.all([
      runLimited(items.filter((i) => i.action.type !== 'webhook').map(task), HOST_PATH_CONCURRENCY),
      runLimited(items.filter((i) => i.action.type === 'webhook').map(task), WEBHOOK_CONCURRENCY),
    ]);
    return continued;
  }

  private async perform(item: PendingExternal): Promise<ExternalOutcome> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.performOnce(item);
      if (outcome.kind !== 'retry' || !outcome.lockConflict || attempt > HOST_PATH_QUICK_RETRIES) return outcome;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80 * attempt));
    }
  }

  private async performOnce(item: PendingExternal): Promise<ExternalOutcome> {
    // The executor of the item's own type (the map is complete by type; TypeScript cannot correlate the two lookups).
    const executor = this.executors[item.action.type] as ExternalExecutor<ExternalActionType>;
    try {
      return await executor.perform(item as PendingOf<ExternalActionType>);
    } catch (error) {
      const message = `${item.action.type}: ${(error as Error).message}`;
      if (error instanceof PermanentHostError || error instanceof JourneysException) return { kind: 'permanent', error: message };
      return { kind: 'retry', error: message, lockConflict: isTransientDbError(error) };
    }
  }

  /** Writes the outcome of attempt `attempt`; true when the entry may continue now. */
  private async record(item: PendingExternal, attempt: number, outcome: ExternalOutcome): Promise<boolean> {
    const { entry, action } = item;
    const now = this.clock.now();
    if (outcome.kind === 'done') {
      if (!(await this.store.recordDone(entry.EntryID, action.id, attempt, outcome.result, now))) return false;
      this.metrics.actionsRun.inc({ type: action.type });
      return true;
    }
    if (outcome.kind === 'retry' && attempt < EXTERNAL_MAX_ATTEMPTS) {
      const retryAt = new Date(now.getTime() + retryDelayMs(attempt, outcome.retryAfterMs));
      if (await this.store.recordRetry(entry, action.id, attempt, outcome.error, retryAt, now)) {
        await this.queue.runAt([{ entryId: entry.EntryID, stepSeq: entry.StepSeq + 1, wakeAt: retryAt }]);
      }
      return false;
    }
    const error = outcome.kind === 'retry' ? `${outcome.error} (gave up after ${attempt} attempts)` : outcome.error;
    if (await this.store.recordFailed(entry, action.id, attempt, error, now)) {
      this.metrics.actionsFailed.inc({ type: action.type });
      this.logger.warn(`entry ${entry.EntryID} failed at ${action.type} ${action.id}: ${error}`);
    }
    return false;
  }
}
