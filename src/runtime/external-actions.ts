/**
 * Carries out the actions whose effect lies outside the plug-in's tables:
 * Subscribe / Unsubscribe through the host's own path (which fires the host's
 * hooks, so the target list's autoresponders and journeys run; the causation
 * chain goes along to bound loops) and the Webhook.
 *
 * Each was claimed by the step transaction (log row `pending`, LeaseUntil).
 * Only the lease holder carries it out; a crashed worker's lease runs out and
 * the sweeper hands the entry to another. Success marks the log row done and
 * the entry continues after the action; a transient failure schedules a retry
 * as the entry's wake time (exponential backoff with jitter, Retry-After
 * honoured); a permanent one parks the entry as failed with the error.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Transaction, type Sequelize } from 'sequelize';
import { JourneysException } from '../common/journeys.exception';
import type { AppConfig } from '../config/env';
import { CLOCK, PLUGIN_CONFIG, SEQUELIZE, TABLES, type Clock } from '../core/tokens';
import type { PluginTables } from '../database/tables';
import type { WebhookAction } from '../engine/journey.types';
import { HOST_PORTS, type HostPorts, type HostSubscriber } from '../host/host.ports';
import { EntryQueue } from './entry-queue.service';
import { refOf, type PendingExternal } from './entry-runner';
import { HostFacts, runLimited } from './host-facts';
import { RuntimeMetrics } from './runtime.metrics';
import { EXTERNAL_LEASE_MS, WEBHOOK_MAX_ATTEMPTS } from './runtime.limits';
import { execute, isTransientDbError, sqlDate } from './sql';
import { retryDelayMs, WebhookSender } from './webhook-sender';

/** Lets tests (and hosts) replace how webhooks are sent. */
export const WEBHOOK_SENDER = Symbol('WEBHOOK_SENDER');

type Outcome =
  { kind: 'done'; result: string } | { kind: 'retry'; error: string; retryAfterMs?: number; lockConflict?: boolean } | { kind: 'permanent'; error: string };

const WEBHOOK_CONCURRENCY = 32;
const HOST_PATH_CONCURRENCY = 4;
/** A deadlock or lock timeout in the host's path is retried on the spot a few times before it counts as a failed attempt. */
const HOST_PATH_QUICK_RETRIES = 3;

@Injectable()
export class ExternalActions {
  private readonly logger = new Logger('JourneysExternal');

  constructor(
    @Inject(SEQUELIZE) private readonly sequelize: Sequelize,
    @Inject(TABLES) private readonly tables: PluginTables,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PLUGIN_CONFIG) private readonly config: AppConfig,
    @Inject(HOST_PORTS) private readonly host: HostPorts,
    @Inject(WEBHOOK_SENDER) private readonly sender: WebhookSender,
    private readonly facts: HostFacts,
    private readonly queue: EntryQueue,
    private readonly metrics: RuntimeMetrics,
  ) {}

  /** Carries out these actions; returns the entries that may continue now. */
  async carryOut(items: readonly PendingExternal[]): Promise<number[]> {
    const continued: number[] = [];
    const task = (item: PendingExternal) => async () => {
      if (!item.leased && !(await this.takeLease(item))) return;
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

  /** Takes the lease on a pending action whose holder is gone (or that has no claim row yet). */
  private async takeLease(item: PendingExternal): Promise<boolean> {
    const now = this.clock.now();
    await execute(
      this.sequelize,
      `INSERT IGNORE INTO \`${this.tables.log}\` (EntryID, JourneyID, ActionID, Visit, ActionType, Status, CreatedAt) VALUES (?, ?, ?, 1, ?, 'pending', ?)`,
      [item.entry.EntryID, item.entry.JourneyID, item.action.id, item.action.type, sqlDate(now)],
    );
    const { affectedRows } = await execute(
      this.sequelize,
      `UPDATE \`${this.tables.log}\` SET LeaseUntil = ?
        WHERE EntryID = ? AND ActionID = ? AND Visit = 1 AND Status = 'pending' AND (LeaseUntil IS NULL OR LeaseUntil < ?)`,
      [sqlDate(new Date(now.getTime() + EXTERNAL_LEASE_MS)), item.entry.EntryID, item.action.id, sqlDate(now)],
    );
    return affectedRows === 1;
  }

  private async perform(item: PendingExternal): Promise<Outcome> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.performOnce(item);
      if (outcome.kind !== 'retry' || !outcome.lockConflict || attempt > HOST_PATH_QUICK_RETRIES) return outcome;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80 * attempt));
    }
  }

  private async performOnce(item: PendingExternal): Promise<Outcome> {
    const { entry, action, subscriber } = item;
    const owner = entry.RelOwnerUserID;
    const causation = { chainId: entry.ChainID, depth: entry.ChainDepth + 1 };
    try {
      switch (action.type) {
        case 'subscribe': {
          const r = await this.host.subscriptions.subscribe(owner, action.settings.listId, { emailAddress: subscriber.emailAddress }, causation);
          return { kind: 'done', result: r.alreadySubscribed ? 'already subscribed' : `subscribed #${r.subscriberId}` };
        }
        case 'unsubscribe': {
          const listId = action.settings.listId;
          const targets =
            listId === entry.ListID
              ? [refOf(entry)]
              : (await this.host.audience.findSubscribersByEmail(owner, subscriber.emailAddress))
                  .filter((s) => s.listId === listId)
                  .map((s) => ({ listId: s.listId, subscriberId: s.subscriberId }));
          if (targets.length === 0) return { kind: 'done', result: 'not in list' };
          let was = false;
          for (const ref of targets) was = (await this.host.subscriptions.unsubscribe(owner, ref, causation)).wasSubscribed || was;
          return { kind: 'done', result: was ? 'unsubscribed' : 'not subscribed' };
        }
        case 'webhook':
          return await this.webhook({ ...item, action });
      }
    } catch (error) {
      if (error instanceof JourneysException) return { kind: 'permanent', error: `${action.type}: ${error.message}` };
      return { kind: 'retry', error: `${action.type}: ${(error as Error).message}`, lockConflict: isTransientDbError(error) };
    }
  }

  private async webhook(item: PendingExternal & { action: WebhookAction }): Promise<Outcome> {
    const { entry, action, journey, subscriber } = item;
    const deliveryId = `msg_${entry.EntryID}_${action.id}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 100);
    const owner = await this.facts.owner(entry.RelOwnerUserID);
    const sentAt = new Date(); // transport time: receivers check it against their own clock
    const body = JSON.stringify({
      type: 'journey.webhook',
      timestamp: sentAt.toISOString(),
      data: {
        journey: { id: journey.definition.journeyId, name: journey.definition.name },
        action: { id: action.id },
        entry: { id: entry.EntryID },
        subscriber: subscriberPayload(subscriber, owner.customFieldNames, action.settings.includeCustomFields !== false),
        event: parseJson(entry.TriggerEvent),
      },
    });
    const nowSql = sqlDate(this.clock.now());
    await execute(
      this.sequelize,
      `INSERT INTO \`${this.tables.webhookDeliveries}\` (DeliveryID, EntryID, JourneyID, ActionID, URL, Status, Attempts, CreatedAt, UpdatedAt)
       VALUES (?, ?, ?, ?, ?, 'pending', 1, ?, ?)
       ON DUPLICATE KEY UPDATE Attempts = Attempts + 1, UpdatedAt = VALUES(UpdatedAt)`,
      [deliveryId, entry.EntryID, entry.JourneyID, action.id, action.settings.url, nowSql, nowSql],
    );
    const outcome = await this.sender.send({
      url: action.settings.url,
      method: action.settings.method ?? 'POST',
      headers: action.settings.headers,
      body,
      deliveryId,
      secret: journey.webhookSecret,
      timestamp: sentAt,
    });
    const status = outcome.kind === 'delivered' ? 'delivered' : outcome.kind === 'permanent' ? 'failed' : 'pending';
    await execute(
      this.sequelize,
      `UPDATE \`${this.tables.webhookDeliveries}\` SET Status = ?, LastStatusCode = ?, LastError = ?, UpdatedAt = ? WHERE DeliveryID = ?`,
      [status, outcome.status ?? null, outcome.kind === 'delivered' ? null : outcome.error, sqlDate(this.clock.now()), deliveryId],
    );
    if (outcome.kind === 'delivered') return { kind: 'done', result: `HTTP ${outcome.status}` };
    return outcome.kind === 'retry' ? { kind: 'retry', error: outcome.error, retryAfterMs: outcome.retryAfterMs } : { kind: 'permanent', error: outcome.error };
  }

  /** Writes the outcome; true when the entry may continue now. */
  private async record(item: PendingExternal, outcome: Outcome): Promise<boolean> {
    const { entry, action } = item;
    const now = this.clock.now();
    const nowSql = sqlDate(now);
    if (outcome.kind === 'done') {
      await execute(
        this.sequelize,
        `UPDATE \`${this.tables.log}\` SET Status = 'done', Result = ?, LeaseUntil = NULL, CompletedAt = ?
          WHERE EntryID = ? AND ActionID = ? AND Visit = 1 AND Status = 'pending'`,
        [outcome.result.slice(0, 64), nowSql, entry.EntryID, action.id],
      );
      this.metrics.actionsRun.inc({ type: action.type });
      return true;
    }
    const attempts = entry.Attempts + 1;
    if (outcome.kind === 'retry' && attempts < WEBHOOK_MAX_ATTEMPTS) {
      const wakeAt = new Date(now.getTime() + retryDelayMs(attempts, outcome.retryAfterMs));
      const moved = await this.sequelize.transaction({ isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED }, async (tx) => {
        await execute(
          this.sequelize,
          `UPDATE \`${this.tables.log}\` SET LeaseUntil = NULL, Detail = ? WHERE EntryID = ? AND ActionID = ? AND Visit = 1 AND Status = 'pending'`,
          [`attempt ${attempts}: ${outcome.error}`, entry.EntryID, action.id],
          tx,
        );
        return execute(
          this.sequelize,
          `UPDATE \`${this.tables.entries}\` SET State = 'waiting', WakeAt = ?, Attempts = ?, LastError = ?, StepSeq = StepSeq + 1, UpdatedAt = ?
            WHERE EntryID = ? AND StepSeq = ? AND ActiveLock = 1`,
          [sqlDate(wakeAt), attempts, `attempt ${attempts} of ${action.type} failed: ${outcome.error}`, nowSql, entry.EntryID, entry.StepSeq],
          tx,
        );
      });
      if (moved.affectedRows === 1) await this.queue.runAt([{ entryId: entry.EntryID, stepSeq: entry.StepSeq + 1, wakeAt }]);
      return false;
    }
    const error = outcome.kind === 'retry' ? `${outcome.error} (gave up after ${attempts} attempts)` : outcome.error;
    await this.sequelize.transaction({ isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED }, async (tx) => {
      await execute(
        this.sequelize,
        `UPDATE \`${this.tables.log}\` SET Status = 'failed', Detail = ?, LeaseUntil = NULL, CompletedAt = ? WHERE EntryID = ? AND ActionID = ? AND Visit = 1 AND Status = 'pending'`,
        [error, nowSql, entry.EntryID, action.id],
        tx,
      );
      await execute(
        this.sequelize,
        `UPDATE \`${this.tables.entries}\` SET State = 'failed', WakeAt = NULL, Attempts = ?, LastError = ?, StepSeq = StepSeq + 1, UpdatedAt = ?
          WHERE EntryID = ? AND StepSeq = ? AND ActiveLock = 1`,
        [attempts, error, nowSql, entry.EntryID, entry.StepSeq],
        tx,
      );
    });
    this.metrics.actionsFailed.inc({ type: action.type });
    this.logger.warn(`entry ${entry.EntryID} failed at ${action.type} ${action.id}: ${error}`);
    return false;
  }
}

/** The subscriber as a webhook receiver sees it: host columns, custom fields by name. */
export function subscriberPayload(subscriber: HostSubscriber, fieldNames: Record<number, string>, includeCustomFields: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    listId: subscriber.listId,
    subscriberId: subscriber.subscriberId,
    emailAddress: subscriber.emailAddress,
    subscriptionStatus: subscriber.subscriptionStatus,
    bounceType: subscriber.bounceType,
    subscriptionDate: subscriber.subscriptionDate,
    subscriptionIp: subscriber.subscriptionIp,
    optInDate: subscriber.optInDate,
  };
  if (includeCustomFields) {
    const fields: Record<string, string | null> = {};
    for (const [id, value] of Object.entries(subscriber.customFields)) fields[fieldNames[Number(id)] ?? `CustomField${id}`] = value;
    out.customFields = fields;
  }
  return out;
}

function parseJson(text: string | null): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
