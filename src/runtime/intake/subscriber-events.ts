/**
 * The subscribers' opens, clicks and conversions the intake saw, kept for the
 * checks of journey goals and Wait for event actions (which events happened
 * to whom, and when). Written by the intake with the batch that recorded the
 * events, read by the step planner, pruned by the sweeper.
 */
import { Inject, Injectable } from '@nestjs/common';
import { DB, TABLES } from '../../core/tokens';
import { sqlDate, type Db, type SqlSession } from '../../database/db';
import type { SubscriberEvent, SubscriberRef } from '../../engine/host-facts.types';
import type { TriggerEvent } from '../../engine/trigger-event';
import type { PluginTables } from '../../database/tables';
import { subscriberKey } from '../entry.types';

/** Events read per subscriber at most (the newest first count; a journey rarely needs more). */
const MAX_EVENTS_READ = 5_000;

function isEmailEvent(event: TriggerEvent): event is TriggerEvent & { type: SubscriberEvent['type'] } {
  return event.type === 'email_opened' || event.type === 'link_clicked' || event.type === 'conversion';
}

@Injectable()
export class SubscriberEvents {
  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(TABLES) private readonly tables: PluginTables,
  ) {}

  /** Records the email events among these (a repeated event id is kept once); returns the subscribers they happened to. */
  async record(session: SqlSession, events: readonly TriggerEvent[], receivedAt: Date): Promise<SubscriberRef[]> {
    const emailEvents = events.filter(isEmailEvent);
    if (emailEvents.length === 0) return [];
    const at = sqlDate(receivedAt);
    await session.execute(
      `INSERT IGNORE INTO \`${this.tables.subscriberEvents}\`
         (EventID, RelOwnerUserID, ListID, SubscriberID, EventType, EmailID, URL, Channel, Value, OccurredAt, ReceivedAt) VALUES ?`,
      [
        emailEvents.map((e) => [
          e.eventId,
          e.userId,
          e.listId,
          e.subscriberId,
          e.type,
          e.emailId ?? null,
          e.url ?? null,
          e.channel ?? null,
          e.value ?? null,
          sqlDate(e.occurredAt),
          at,
        ]),
      ],
    );
    return [...new Map(emailEvents.map((e) => [subscriberKey(e), { listId: e.listId, subscriberId: e.subscriberId }])).values()];
  }

  /** Each subscriber's events since `since`, oldest first, keyed by subscriberKey. */
  async since(refs: readonly SubscriberRef[], since: Date, session: SqlSession = this.db): Promise<Map<string, SubscriberEvent[]>> {
    const out = new Map<string, SubscriberEvent[]>();
    if (refs.length === 0) return out;
    const rows = await session.select<{
      EventID: string;
      ListID: number;
      SubscriberID: number;
      EventType: SubscriberEvent['type'];
      EmailID: number | null;
      URL: string | null;
      Channel: string | null;
      Value: string | number | null;
      OccurredAt: Date;
    }>(
      `SELECT EventID, ListID, SubscriberID, EventType, EmailID, URL, Channel, Value, OccurredAt FROM \`${this.tables.subscriberEvents}\`
        WHERE (ListID, SubscriberID) IN (${refs.map(() => '(?, ?)').join(', ')}) AND OccurredAt >= ?
        ORDER BY OccurredAt, EventID LIMIT ${MAX_EVENTS_READ}`,
      [...refs.flatMap((r) => [r.listId, r.subscriberId]), sqlDate(since)],
    );
    for (const row of rows) {
      const key = subscriberKey({ listId: Number(row.ListID), subscriberId: Number(row.SubscriberID) });
      const event: SubscriberEvent = { eventId: row.EventID, type: row.EventType, occurredAt: new Date(row.OccurredAt) };
      if (row.EmailID !== null) event.emailId = Number(row.EmailID);
      if (row.URL !== null) event.url = row.URL;
      if (row.Channel !== null) event.channel = row.Channel;
      if (row.Value !== null) event.value = Number(row.Value);
      out.set(key, [...(out.get(key) ?? []), event]);
    }
    return out;
  }

  /** Forgets events received before `before`, a bounded number per call; returns how many. */
  async prune(before: Date, limit = 10_000): Promise<number> {
    const { affectedRows } = await this.db.execute(`DELETE FROM \`${this.tables.subscriberEvents}\` WHERE ReceivedAt < ? LIMIT ${Number(limit)}`, [
      sqlDate(before),
    ]);
    return affectedRows;
  }
}
