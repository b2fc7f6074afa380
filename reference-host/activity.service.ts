/**
 * The host's open / click / conversion tracking: records the activity row,
 * then fires Email.Opened, Link.Clicked or Conversion.Postback with the row's
 * id as EventID (`opened-<StatID>`, `clicked-<StatID>`, `conversion-<StatID>`).
 * An open or click of a journey-sent email may name its message (the outbox
 * row): the activity row then keeps it, so the open is tied to that send.
 */
import { Logger } from '@nestjs/common';
import { QueryTypes, type Sequelize } from 'sequelize';
import { JourneysException } from '../src/common/journeys.exception';
import type { Clock } from '../src/core/tokens';
import type { ConversionHookPayload, EmailOpenedHookPayload, LinkClickedHookPayload } from '../src/host/hook-payloads';
import type { HookBusPort } from '../src/host/host.ports';
import { assertId, hostTables, type HostTables } from '../src/host/mysql/host-tables';
import { messageIdOf } from './outbox-store';
import { referenceHostTables } from './schema';
import { toSqlDateMs } from './sql-dates';

export interface ActivityTarget {
  listId: number;
  subscriberId: number;
  emailId: number;
  campaignId?: number | null;
  autoResponderId?: number | null;
  /** The OutboxID of the send this open or click belongs to. */
  messageId?: number | null;
}

interface Resolved {
  userId: number;
  emailAddress: string;
  campaignId: number | null;
  autoResponderId: number | null;
}

export class HostActivity {
  private readonly tables: HostTables;
  private readonly outbox: string;
  private readonly logger = new Logger('HostActivity');

  constructor(
    private readonly sequelize: Sequelize,
    prefix: string,
    private readonly hooks: HookBusPort,
    private readonly clock: Clock,
  ) {
    this.tables = hostTables(prefix);
    this.outbox = referenceHostTables(prefix).emailOutbox;
  }

  async open(target: ActivityTarget): Promise<{ statId: number }> {
    const r = await this.resolve(target);
    const now = this.clock.now();
    const { statId } = await this.insert(this.tables.opens, target, r, now, { RelMessageID: target.messageId ?? null });
    const payload: EmailOpenedHookPayload = { ...this.base(`opened-${statId}`, target, r, now) };
    await this.fire('Email.Opened', payload);
    return { statId };
  }

  async click(target: ActivityTarget, url: string): Promise<{ statId: number }> {
    const r = await this.resolve(target);
    const now = this.clock.now();
    const { statId } = await this.insert(this.tables.clicks, target, r, now, { LinkURL: url, RelMessageID: target.messageId ?? null });
    const payload: LinkClickedHookPayload = { ...this.base(`clicked-${statId}`, target, r, now), URL: url };
    await this.fire('Link.Clicked', payload);
    return { statId };
  }

  /**
   * A repeated TransactionID records nothing new and fires the hook again with
   * the same EventID (the conversion row's), so the plug-in counts it once.
   * Two postbacks of one TransactionID at the same time find one row: the
   * insert takes the existing row's id instead of failing on the unique key.
   */
  async conversion(
    target: ActivityTarget,
    details: { channel: string | null; value: number | null; transactionId: string | null },
  ): Promise<{ statId: number; repeated: boolean }> {
    const r = await this.resolve(target);
    const now = this.clock.now();
    const { statId, inserted } = await this.insert(this.tables.conversions, target, r, now, {
      Channel: details.channel,
      Value: details.value,
      TransactionID: details.transactionId,
    });
    const [first] = inserted
      ? [{ ActivityDate: now }]
      : await this.sequelize.query<{ ActivityDate: Date }>(`SELECT ActivityDate FROM \`${this.tables.conversions}\` WHERE StatID = ?`, {
          type: QueryTypes.SELECT,
          replacements: [statId],
        });
    const payload: ConversionHookPayload = {
      ...this.base(`conversion-${statId}`, target, r, new Date(first.ActivityDate)),
      Channel: details.channel,
      Value: details.value,
    };
    await this.fire('Conversion.Postback', payload);
    return { statId, repeated: !inserted };
  }

  /** The list's owner, the subscriber's address, and the email's campaign / autoresponder when not given. 404 when they (or the message) do not fit together. */
  private async resolve(target: ActivityTarget): Promise<Resolved> {
    const listId = assertId(target.listId, 'ListID');
    assertId(target.subscriberId, 'SubscriberID');
    assertId(target.emailId, 'EmailID');
    const [list] = await this.sequelize.query<{ RelOwnerUserID: number }>(`SELECT RelOwnerUserID FROM \`${this.tables.lists}\` WHERE ListID = ?`, {
      type: QueryTypes.SELECT,
      replacements: [listId],
    });
    if (!list) throw JourneysException.notFound(`List ${listId}`);
    const userId = Number(list.RelOwnerUserID);
    const [subscriber] = await this.sequelize.query<{ EmailAddress: string }>(
      `SELECT EmailAddress FROM \`${this.tables.subscribers(listId)}\` WHERE SubscriberID = ?`,
      {
        type: QueryTypes.SELECT,
        replacements: [target.subscriberId],
      },
    );
    if (!subscriber) throw JourneysException.notFound(`Subscriber ${target.subscriberId} of list ${listId}`);
    const [email] = await this.sequelize.query<{ CampaignID: number | null; AutoResponderID: number | null }>(
      `SELECT (SELECT CampaignID FROM \`${this.tables.campaigns}\` c WHERE c.RelEmailID = e.EmailID AND c.RelOwnerUserID = e.RelOwnerUserID ORDER BY CampaignID LIMIT 1) AS CampaignID,
              (SELECT AutoResponderID FROM \`${this.tables.autoresponders}\` a WHERE a.RelEmailID = e.EmailID AND a.RelOwnerUserID = e.RelOwnerUserID ORDER BY AutoResponderID LIMIT 1) AS AutoResponderID
         FROM \`${this.tables.emails}\` e WHERE e.EmailID = ? AND e.RelOwnerUserID = ?`,
      { type: QueryTypes.SELECT, replacements: [target.emailId, userId] },
    );
    if (!email) throw JourneysException.notFound(`Email ${target.emailId}`);
    if (target.messageId !== undefined && target.messageId !== null) {
      const [sent] = await this.sequelize.query(
        `SELECT OutboxID FROM \`${this.outbox}\` WHERE OutboxID = ? AND RelOwnerUserID = ? AND RelListID = ? AND RelSubscriberID = ? AND RelEmailID = ? AND Status = 'sent'`,
        { type: QueryTypes.SELECT, replacements: [assertId(target.messageId, 'MessageID'), userId, listId, target.subscriberId, target.emailId] },
      );
      if (!sent) throw JourneysException.notFound(`Message ${messageIdOf(target.messageId)} of email ${target.emailId} to subscriber ${target.subscriberId}`);
    }
    return {
      userId,
      emailAddress: subscriber.EmailAddress,
      campaignId: target.campaignId ?? (email.CampaignID === null ? null : Number(email.CampaignID)),
      autoResponderId: target.autoResponderId ?? (email.AutoResponderID === null ? null : Number(email.AutoResponderID)),
    };
  }

  /** The activity row; on a unique key collision (a conversion's TransactionID) the existing row's id, with inserted false. */
  private async insert(
    table: string,
    target: ActivityTarget,
    r: Resolved,
    now: Date,
    extra: Record<string, unknown>,
  ): Promise<{ statId: number; inserted: boolean }> {
    const row: Record<string, unknown> = {
      RelOwnerUserID: r.userId,
      RelListID: target.listId,
      RelSubscriberID: target.subscriberId,
      RelEmailID: target.emailId,
      RelCampaignID: r.campaignId,
      RelAutoResponderID: r.autoResponderId,
      ActivityDate: toSqlDateMs(now),
      ...extra,
    };
    const columns = Object.keys(row);
    // Affected rows: 1 inserted, 0 found (the Sequelize connection does not count found rows).
    const [insertId, affectedRows] = await this.sequelize.query(
      `INSERT INTO \`${table}\` (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON DUPLICATE KEY UPDATE StatID = LAST_INSERT_ID(StatID)`,
      { type: QueryTypes.INSERT, replacements: Object.values(row) },
    );
    return { statId: Number(insertId), inserted: Number(affectedRows) === 1 };
  }

  private base(eventId: string, target: ActivityTarget, r: Resolved, at: Date): EmailOpenedHookPayload {
    return {
      EventID: eventId,
      UserID: r.userId,
      ListID: target.listId,
      SubscriberID: target.subscriberId,
      EmailAddress: r.emailAddress,
      OccurredAt: at.toISOString(),
      EmailID: target.emailId,
      CampaignID: r.campaignId,
      AutoResponderID: r.autoResponderId,
    };
  }

  private async fire(hookName: string, payload: unknown): Promise<void> {
    try {
      await this.hooks.fire(hookName, payload);
    } catch (error) {
      this.logger.error(`${hookName}: ${(error as Error).message}`);
    }
  }
}
