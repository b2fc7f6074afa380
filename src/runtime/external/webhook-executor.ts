/**
 * The Webhook action: the subscriber's data as JSON, signed the Standard
 * Webhooks way with the journey's secret, with a delivery id (webhook-id)
 * that stays the same on every attempt, so a receiver can drop repeats.
 * Each attempt is recorded in the webhook deliveries table.
 */
import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, DB, TABLES, type Clock } from '../../core/tokens';
import { sqlDate, type Db } from '../../database/db';
import type { PluginTables } from '../../database/tables';
import type { HostSubscriber } from '../../engine/host-facts.types';
import { HostFacts } from '../host-facts';
import type { WebhookSender } from '../webhook-sender';
import type { ExternalExecutor, ExternalOutcome, PendingOf } from './executors';
import { deliveryIdOf } from './external-claims';

/** Lets tests (and hosts) replace how webhooks are sent. */
export const WEBHOOK_SENDER = Symbol('WEBHOOK_SENDER');

@Injectable()
export class WebhookExecutor implements ExternalExecutor<'webhook'> {
  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(TABLES) private readonly tables: PluginTables,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(WEBHOOK_SENDER) private readonly sender: WebhookSender,
    private readonly facts: HostFacts,
  ) {}

  async perform({ entry, action, journey, subscriber }: PendingOf<'webhook'>): Promise<ExternalOutcome> {
    const deliveryId = deliveryIdOf(entry, action.id);
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
    await this.db.execute(
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
    await this.db.execute(`UPDATE \`${this.tables.webhookDeliveries}\` SET Status = ?, LastStatusCode = ?, LastError = ?, UpdatedAt = ? WHERE DeliveryID = ?`, [
      status,
      outcome.status ?? null,
      outcome.kind === 'delivered' ? null : outcome.error,
      sqlDate(this.clock.now()),
      deliveryId,
    ]);
    if (outcome.kind === 'delivered') return { kind: 'done', result: `HTTP ${outcome.status}` };
    return outcome.kind === 'retry' ? { kind: 'retry', error: outcome.error, retryAfterMs: outcome.retryAfterMs } : { kind: 'permanent', error: outcome.error };
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
