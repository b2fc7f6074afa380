/**
 * The Webhook action: the subscriber's data as JSON, signed the Standard
 * Webhooks way with the journey's secret, with a delivery id (webhook-id)
 * that stays the same on every attempt, so a receiver can drop repeats.
 * A batch is sent concurrently over keep-alive connections (the sender caps
 * each destination); each attempt is recorded in the webhook deliveries table.
 */
import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, DB, TABLES, type Clock } from '../../core/tokens';
import { sqlDate, type Db } from '../../database/db';
import type { PluginTables } from '../../database/tables';
import type { HostSubscriber } from '../../engine/host-facts.types';
import { HostFacts, runLimited } from '../host-facts';
import type { WebhookOutcome, WebhookSender } from '../webhook-sender';
import { type ExternalExecutor, type ExternalOutcome, type PendingOf } from './executors';
import { deliveryIdOf } from './external-claims';

/** Lets tests (and hosts) replace how webhooks are sent. */
export const WEBHOOK_SENDER = Symbol('WEBHOOK_SENDER');

/** Deliveries in flight at once per worker process (each destination is capped further by the sender). */
const WEBHOOKS_IN_FLIGHT = 128;

@Injectable()
export class WebhookExecutor implements ExternalExecutor<'webhook'> {
  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(TABLES) private readonly tables: PluginTables,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(WEBHOOK_SENDER) private readonly sender: WebhookSender,
    private readonly facts: HostFacts,
  ) {}

  /** Sends the batch concurrently; its delivery records are written with one statement before and one after. */
  async performMany(items: readonly PendingOf<'webhook'>[]): Promise<ExternalOutcome[]> {
    if (items.length === 0) return [];
    const deliveryIds = items.map(({ entry, action }) => deliveryIdOf(entry, action.id));
    const startedSql = sqlDate(this.clock.now());
    await this.db.execute(
      `INSERT INTO \`${this.tables.webhookDeliveries}\` (DeliveryID, EntryID, JourneyID, ActionID, URL, Status, Attempts, CreatedAt, UpdatedAt) VALUES ?
       ON DUPLICATE KEY UPDATE Attempts = Attempts + 1, UpdatedAt = VALUES(UpdatedAt)`,
      [
        items.map(({ entry, action }, i) => [
          deliveryIds[i],
          entry.EntryID,
          entry.JourneyID,
          action.id,
          action.settings.url,
          'pending',
          1,
          startedSql,
          startedSql,
        ]),
      ],
    );
    const results: WebhookOutcome[] = new Array(items.length);
    const sendOne = async (i: number) => {
      results[i] = await this.send(items[i], deliveryIds[i]).catch((error: unknown) => ({
        kind: 'retry' as const,
        error: `webhook: ${(error as Error).message}`,
      }));
    };
    await runLimited(
      items.map((_, i) => () => sendOne(i)),
      WEBHOOKS_IN_FLIGHT,
    );
    const finishedSql = sqlDate(this.clock.now());
    await this.db.execute(
      `INSERT INTO \`${this.tables.webhookDeliveries}\` (DeliveryID, EntryID, JourneyID, ActionID, URL, Status, LastStatusCode, LastError, CreatedAt, UpdatedAt) VALUES ?
       ON DUPLICATE KEY UPDATE Status = VALUES(Status), LastStatusCode = VALUES(LastStatusCode), LastError = VALUES(LastError), UpdatedAt = VALUES(UpdatedAt)`,
      [
        items.map(({ entry, action }, i) => {
          const r = results[i];
          const status = r.kind === 'delivered' ? 'delivered' : r.kind === 'permanent' ? 'failed' : 'pending';
          return [
            deliveryIds[i],
            entry.EntryID,
            entry.JourneyID,
            action.id,
            action.settings.url,
            status,
            r.status ?? null,
            r.kind === 'delivered' ? null : r.error,
            finishedSql,
            finishedSql,
          ];
        }),
      ],
    );
    return results.map((r): ExternalOutcome => {
      if (r.kind === 'delivered') return { kind: 'done', result: `HTTP ${r.status}` };
      return r.kind === 'retry' ? { kind: 'retry', error: r.error, retryAfterMs: r.retryAfterMs } : { kind: 'permanent', error: r.error };
    });
  }

  private async send({ entry, action, journey, subscriber }: PendingOf<'webhook'>, deliveryId: string): Promise<WebhookOutcome> {
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
    return this.sender.send({
      url: action.settings.url,
      method: action.settings.method ?? 'POST',
      headers: action.settings.headers,
      body,
      deliveryId,
      secret: journey.webhookSecret,
      timestamp: sentAt,
    });
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
