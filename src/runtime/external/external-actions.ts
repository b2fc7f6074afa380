/**
 * Carries out the actions whose effect lies outside the plug-in's tables, a
 * batch at a time, through the executor of each action type
 * (ExternalExecutors: the host's subscription path, webhooks).
 *
 * Each item comes with the attempt its worker holds the claim's lease for
 * (taken by the step that claimed or resumed it). Outcomes are recorded for
 * that attempt only: successes with one statement for the batch, after which
 * the entries continue after the action; a transient failure schedules the
 * next attempt as the entry's wake time (exponential backoff with jitter,
 * Retry-After honoured) and on the claim itself (NotBefore), so nobody sends
 * earlier; a permanent failure, or the last allowed attempt, parks the entry
 * as failed with the error.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, type Clock } from '../../core/tokens';
import type { ExternalActionType } from '../../engine/action-registry';
import { EntryQueue } from '../entry-queue.service';
import { EntryStore } from '../entry-store';
import { runLimited } from '../host-facts';
import { chunk } from '../queues';
import type { PendingExternal } from '../entry.types';
import { RuntimeMetrics } from '../runtime.metrics';
import { EXTERNAL_MAX_ATTEMPTS } from '../runtime.limits';
import { retryDelayMs } from '../webhook-sender';
import { assertExecutorsComplete, outcomeOfError, type ExternalExecutor, type ExternalExecutors, type ExternalOutcome, type PendingOf } from './executors';
import { SendEmailExecutor } from './send-email-executor';
import { SubscribeExecutor, UnsubscribeExecutor } from './subscription-executors';
import { WebhookExecutor } from './webhook-executor';

/** Actions of one type carried out and recorded together. */
const CHUNK = 64;
/** Chunks carried out at once. */
const CHUNKS_IN_FLIGHT = 8;

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
    sendEmail: SendEmailExecutor,
  ) {
    this.executors = { subscribe, unsubscribe, webhook, send_email: sendEmail };
    assertExecutorsComplete(this.executors);
  }

  /**
   * Carries out these actions, a chunk of one type at a time (a few chunks at
   * once), each chunk's outcomes recorded as soon as it is done: so a worker
   * that dies leaves few actions carried out but not recorded (which another
   * worker then carries out again, under the same key or webhook-id).
   * Returns the entries that may continue now.
   */
  async carryOut(items: readonly PendingExternal[]): Promise<number[]> {
    if (items.length === 0) return [];
    const byType = new Map<ExternalActionType, PendingExternal[]>();
    for (const item of items) byType.set(item.action.type, [...(byType.get(item.action.type) ?? []), item]);
    const continued: number[] = [];
    const tasks = [...byType].flatMap(([type, group]) =>
      chunk(group, CHUNK).map((part) => async () => {
        // The executor of the group's own type (the map is complete by type; TypeScript cannot correlate the two lookups).
        const executor = this.executors[type] as ExternalExecutor<ExternalActionType>;
        const results = await executor
          .performMany(part as PendingOf<ExternalActionType>[])
          .catch((error: unknown) => part.map(() => outcomeOfError(type, error)));
        continued.push(...(await this.record(new Map(part.map((item, i) => [item, results[i]])))));
      }),
    );
    await runLimited(tasks, CHUNKS_IN_FLIGHT);
    return continued;
  }

  /** Writes the outcomes of the attempts; returns the entries that may continue now. */
  private async record(outcomes: ReadonlyMap<PendingExternal, ExternalOutcome>): Promise<number[]> {
    const now = this.clock.now();
    const done = [...outcomes].filter((o): o is [PendingExternal, Extract<ExternalOutcome, { kind: 'done' }>] => o[1].kind === 'done');
    await this.store.recordDone(
      done.map(([item, outcome]) => ({
        entryId: item.entry.EntryID,
        actionId: item.action.id,
        attempt: item.attempt,
        result: outcome.result,
        skipped: outcome.skipped,
      })),
      now,
    );
    for (const [item] of done) this.metrics.actionsRun.inc({ type: item.action.type });

    for (const [item, outcome] of outcomes) {
      if (outcome.kind === 'done') continue;
      const { entry, action, attempt } = item;
      if (outcome.kind === 'exit') {
        await this.store.recordExit(entry, action.id, attempt, outcome.reason, now);
        continue;
      }
      if (outcome.kind === 'retry' && attempt < EXTERNAL_MAX_ATTEMPTS) {
        const retryAt = new Date(now.getTime() + retryDelayMs(attempt, outcome.retryAfterMs));
        if (await this.store.recordRetry(entry, action.id, attempt, outcome.error, retryAt, now)) {
          await this.queue.runAt([{ entryId: entry.EntryID, stepSeq: entry.StepSeq + 1, wakeAt: retryAt }]);
        }
        continue;
      }
      const error = outcome.kind === 'retry' ? `${outcome.error} (gave up after ${attempt} attempts)` : outcome.error;
      if (await this.store.recordFailed(entry, action.id, attempt, error, now)) {
        this.metrics.actionsFailed.inc({ type: action.type });
        this.logger.warn(`entry ${entry.EntryID} failed at ${action.type} ${action.id}: ${error}`);
      }
    }
    return done.map(([item]) => item.entry.EntryID);
  }
}
