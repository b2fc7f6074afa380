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
import { CLOCK, type Clock } from '../../core/tokens';
import { isTransientDbError } from '../../database/db';
import { PermanentHostError } from '../../host/host.ports';
import { EntryQueue } from '../entry-queue.service';
import { EntryStore } from '../entry-store';
import type { PendingExternal } from '../entry.types';
import { runLimited } from '../host-facts';
import { RuntimeMetrics } from '../runtime.metrics';
import { EXTERNAL_LEASE_MS, WEBHOOK_MAX_ATTEMPTS } from '../runtime.limits';
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

  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly store: EntryStore,
    private readonly queue: EntryQueue,
    private readonly metrics: RuntimeMetrics,
    subscribe: SubscribeExecutor,
    unsubscribe: UnsubscribeExecutor,
    webhook: WebhookExecutor,
  ) {
    this.executors = { subscribe, unsubscribe, webhook };
    assertExecutorsComplete(this.executors);
  }

  /** Carries out these actions; returns the entries that may continue now. */
  async carryOut(items: readonly PendingExternal[]): Promise<number[]> {
    const continued: number[] = [];
    const task = (item: PendingExternal) => async () => {
      const now = this.clock.now();
      if (!item.leased && !(await this.store.takeLease(item.entry, item.action.id, item.action.type, now, new Date(now.getTime() + EXTERNAL_LEASE_MS)))) return;
      const outcome = await this.perform(item);
      if (await this.record(item, outcome)) continued.push(item.entry.EntryID);
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

  /** Writes the outcome; true when the entry may continue now. */
  private async record(item: PendingExternal, outcome: ExternalOutcome): Promise<boolean> {
    const { entry, action } = item;
    const now = this.clock.now();
    if (outcome.kind === 'done') {
      await this.store.recordDone(entry.EntryID, action.id, outcome.result, now);
      this.metrics.actionsRun.inc({ type: action.type });
      return true;
    }
    const attempts = entry.Attempts + 1;
    if (outcome.kind === 'retry' && attempts < WEBHOOK_MAX_ATTEMPTS) {
      const wakeAt = new Date(now.getTime() + retryDelayMs(attempts, outcome.retryAfterMs));
      const lastError = `attempt ${attempts} of ${action.type} failed: ${outcome.error}`;
      if (await this.store.recordRetry(entry, action.id, attempts, `attempt ${attempts}: ${outcome.error}`, lastError, wakeAt, now)) {
        await this.queue.runAt([{ entryId: entry.EntryID, stepSeq: entry.StepSeq + 1, wakeAt }]);
      }
      return false;
    }
    const error = outcome.kind === 'retry' ? `${outcome.error} (gave up after ${attempts} attempts)` : outcome.error;
    await this.store.recordFailed(entry, action.id, attempts, error, now);
    this.metrics.actionsFailed.inc({ type: action.type });
    this.logger.warn(`entry ${entry.EntryID} failed at ${action.type} ${action.id}: ${error}`);
    return false;
  }
}
