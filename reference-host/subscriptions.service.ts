/**
 * The host's own subscription path, used by its HTTP API and by the plug-in
 * (SubscriptionCommandsPort): it writes the subscriber row, records the list's
 * autoresponders it would send and fires Subscriber.Subscribed /
 * Subscriber.Unsubscribed, carrying the plug-in's Causation along.
 */
import { Logger } from '@nestjs/common';
import { QueryTypes, type Sequelize } from 'sequelize';
import { JourneysException } from '../src/common/journeys.exception';
import type { Clock } from '../src/core/tokens';
import type { SubscribedHookPayload, UnsubscribedHookPayload } from '../src/host/hook-payloads';
import type { CausationContext, CustomFieldWrite, HookBusPort, SubscriberRef, SubscriptionCommandsPort } from '../src/host/host.ports';
import { assertId, customFieldColumn, hostTables, type HostTables } from '../src/host/mysql/host-tables';
import type { MySqlAudience } from '../src/host/mysql/mysql-audience';
import type { MySqlCustomFieldWriter } from '../src/host/mysql/mysql-custom-field-writer';
import { toSqlDate, toSqlDateMs } from './sql-dates';

const EMAIL_PATTERN = /^[^\s@<>"]{1,64}@[^\s@<>"]{1,185}\.[A-Za-z0-9-]{2,}$/;
const UNIT_SECONDS: Record<string, number> = { Immediately: 0, 'Seconds later': 1, 'Minutes later': 60, 'Hours later': 3600, 'Days later': 86400 };

export interface SubscribeInput {
  emailAddress: string;
  customFields?: Record<number, string>;
  ip?: string;
}

export class HostSubscriptions implements SubscriptionCommandsPort {
  private readonly tables: HostTables;
  private readonly logger = new Logger('HostSubscriptions');

  constructor(
    private readonly sequelize: Sequelize,
    prefix: string,
    private readonly audience: MySqlAudience,
    private readonly fieldWriter: MySqlCustomFieldWriter,
    private readonly hooks: HookBusPort,
    private readonly clock: Clock,
  ) {
    this.tables = hostTables(prefix);
  }

  async subscribe(
    userId: number,
    listId: number,
    input: SubscribeInput,
    causation?: CausationContext,
  ): Promise<{ subscriberId: number; alreadySubscribed: boolean }> {
    assertId(userId, 'UserID');
    assertId(listId, 'ListID');
    const list = await this.audience.getList(userId, listId);
    if (!list) throw JourneysException.notFound(`List ${listId}`);
    const emailAddress = String(input.emailAddress ?? '')
      .trim()
      .toLowerCase();
    if (!EMAIL_PATTERN.test(emailAddress)) throw JourneysException.invalid(`EmailAddress ${JSON.stringify(input.emailAddress)} is not a valid email address`);
    const allowed = new Set((await this.audience.listCustomFields(userId, listId)).map((f) => f.customFieldId));
    const fields = Object.entries(input.customFields ?? {}).map(([id, value]) => {
      const fieldId = Number(id);
      if (!allowed.has(fieldId)) throw JourneysException.invalid(`CustomFields.${id} is not a custom field of list ${listId}`);
      return [customFieldColumn(fieldId), value === null || value === undefined ? null : String(value)] as const;
    });

    const now = this.clock.now();
    const date = toSqlDate(now);
    const table = this.tables.subscribers(listId);
    const outcome = await this.sequelize.transaction(async (transaction) => {
      const [existing] = await this.sequelize.query<{ SubscriberID: number; SubscriptionStatus: string }>(
        `SELECT SubscriberID, SubscriptionStatus FROM \`${table}\` WHERE EmailAddress = ? FOR UPDATE`,
        { type: QueryTypes.SELECT, replacements: [emailAddress], transaction },
      );
      const fieldSql = fields.map(([column]) => `, \`${column}\` = ?`).join('');
      const fieldValues = fields.map(([, value]) => value);
      if (existing?.SubscriptionStatus === 'Subscribed') {
        if (fields.length > 0) {
          await this.sequelize.query(`UPDATE \`${table}\` SET SubscriberID = SubscriberID${fieldSql} WHERE SubscriberID = ?`, {
            replacements: [...fieldValues, existing.SubscriberID],
            transaction,
          });
        }
        return { subscriberId: Number(existing.SubscriberID), alreadySubscribed: true };
      }
      let subscriberId: number;
      if (existing) {
        subscriberId = Number(existing.SubscriberID);
        await this.sequelize.query(
          `UPDATE \`${table}\` SET SubscriptionStatus = 'Subscribed', SubscriptionDate = ?, OptInDate = ?, SubscriptionIP = ?, UnsubscriptionDate = NULL${fieldSql} WHERE SubscriberID = ?`,
          { replacements: [date, date, input.ip ?? '', ...fieldValues, subscriberId], transaction },
        );
      } else {
        const columns = ['EmailAddress', 'SubscriptionStatus', 'SubscriptionDate', 'OptInDate', 'SubscriptionIP', ...fields.map(([c]) => c)];
        const [insertId] = await this.sequelize.query(
          `INSERT INTO \`${table}\` (${columns.map((c) => `\`${c}\``).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
          { type: QueryTypes.INSERT, replacements: [emailAddress, 'Subscribed', date, date, input.ip ?? '', ...fieldValues], transaction },
        );
        subscriberId = Number(insertId);
      }
      await this.recordAutoresponders(userId, listId, subscriberId, emailAddress, now, transaction);
      return { subscriberId, alreadySubscribed: false };
    });

    if (!outcome.alreadySubscribed) {
      const payload: SubscribedHookPayload = {
        EventID: `subscribed-${listId}-${outcome.subscriberId}-${Math.floor(now.getTime() / 1000)}`,
        UserID: userId,
        ListID: listId,
        SubscriberID: outcome.subscriberId,
        EmailAddress: emailAddress,
        OccurredAt: new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString(),
        ...(causation ? { Causation: causation } : {}),
      };
      await this.fire('Subscriber.Subscribed', payload);
    }
    return outcome;
  }

  async unsubscribe(userId: number, ref: SubscriberRef, causation?: CausationContext): Promise<{ wasSubscribed: boolean }> {
    assertId(userId, 'UserID');
    const listId = assertId(ref.listId, 'ListID');
    const subscriberId = assertId(ref.subscriberId, 'SubscriberID');
    if (!(await this.audience.getList(userId, listId))) throw JourneysException.notFound(`List ${listId}`);
    const now = this.clock.now();
    const table = this.tables.subscribers(listId);
    const result = await this.sequelize.transaction(async (transaction) => {
      const [row] = await this.sequelize.query<{ EmailAddress: string; SubscriptionStatus: string }>(
        `SELECT EmailAddress, SubscriptionStatus FROM \`${table}\` WHERE SubscriberID = ? FOR UPDATE`,
        { type: QueryTypes.SELECT, replacements: [subscriberId], transaction },
      );
      if (!row) throw JourneysException.notFound(`Subscriber ${subscriberId} of list ${listId}`);
      if (row.SubscriptionStatus === 'Unsubscribed') return { wasSubscribed: false, emailAddress: row.EmailAddress };
      await this.sequelize.query(`UPDATE \`${table}\` SET SubscriptionStatus = 'Unsubscribed', UnsubscriptionDate = ? WHERE SubscriberID = ?`, {
        replacements: [toSqlDate(now), subscriberId],
        transaction,
      });
      return { wasSubscribed: true, emailAddress: row.EmailAddress };
    });
    if (result.wasSubscribed) {
      const payload: UnsubscribedHookPayload = {
        EventID: `unsubscribed-${listId}-${subscriberId}-${Math.floor(now.getTime() / 1000)}`,
        UserID: userId,
        ListID: listId,
        SubscriberID: subscriberId,
        EmailAddress: result.emailAddress,
        OccurredAt: new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString(),
        ...(causation ? { Causation: causation } : {}),
      };
      await this.fire('Subscriber.Unsubscribed', payload);
    }
    return { wasSubscribed: result.wasSubscribed };
  }

  setCustomFields(userId: number, listId: number, writes: CustomFieldWrite[], transaction?: unknown): Promise<void> {
    return this.fieldWriter.setCustomFields(userId, listId, writes, transaction);
  }

  setCustomField(userId: number, ref: SubscriberRef, fieldId: number, value: string | null, transaction?: unknown): Promise<void> {
    return this.fieldWriter.setCustomField(userId, ref, fieldId, value, transaction);
  }

  /** The subscriber lookup of the public unsubscribe API, which may name an email address instead of an id. */
  async subscriberIdByEmail(listId: number, emailAddress: string): Promise<number | null> {
    const [row] = await this.sequelize.query<{ SubscriberID: number }>(
      `SELECT SubscriberID FROM \`${this.tables.subscribers(listId)}\` WHERE EmailAddress = ?`,
      {
        type: QueryTypes.SELECT,
        replacements: [String(emailAddress).trim().toLowerCase()],
      },
    );
    return row ? Number(row.SubscriberID) : null;
  }

  private async recordAutoresponders(
    userId: number,
    listId: number,
    subscriberId: number,
    emailAddress: string,
    now: Date,
    transaction: unknown,
  ): Promise<void> {
    const autoresponders = await this.sequelize.query<{ AutoResponderID: number; RelEmailID: number; TriggerTimeType: string; TriggerTime: number }>(
      `SELECT AutoResponderID, RelEmailID, TriggerTimeType, TriggerTime FROM \`${this.tables.autoresponders}\`
        WHERE RelListID = ? AND RelOwnerUserID = ? AND AutoResponderTriggerType = 'OnSubscription' ORDER BY AutoResponderID`,
      { type: QueryTypes.SELECT, replacements: [listId, userId], transaction: transaction as never },
    );
    for (const ar of autoresponders) {
      const scheduledFor = new Date(now.getTime() + (UNIT_SECONDS[ar.TriggerTimeType] ?? 0) * Number(ar.TriggerTime) * 1000);
      await this.sequelize.query(
        `INSERT INTO \`${this.tables.autoresponderLog}\` (RelOwnerUserID, RelAutoResponderID, RelListID, RelSubscriberID, RelEmailID, EmailAddress, ScheduledFor, CreatedAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        {
          replacements: [userId, ar.AutoResponderID, listId, subscriberId, ar.RelEmailID, emailAddress, toSqlDateMs(scheduledFor), toSqlDateMs(now)],
          transaction: transaction as never,
        },
      );
    }
  }

  /** A listener's failure is logged; the host's own write already happened and stays. */
  private async fire(hookName: string, payload: unknown): Promise<void> {
    try {
      await this.hooks.fire(hookName, payload);
    } catch (error) {
      this.logger.error(`${hookName}: ${(error as Error).message}`);
    }
  }
}
