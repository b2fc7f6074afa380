/**
 * Writes one custom field value straight into the host's per-list table,
 * optionally inside the caller's transaction (the plug-in claims the step and
 * writes the field in one commit when host and plug-in share a database).
 */
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { JourneysException } from '../../common/journeys.exception';
import type { SubscriberRef } from '../host.ports';
import { assertId, customFieldColumn, hostTables, type HostTables } from './host-tables';

export class MySqlCustomFieldWriter {
  readonly tables: HostTables;

  constructor(
    private readonly sequelize: Sequelize,
    prefix: string,
  ) {
    this.tables = hostTables(prefix);
  }

  /** Throws NotFound when the list, the field or the subscriber is not the user's (or not the list's). */
  async setCustomField(userId: number, ref: SubscriberRef, fieldId: number, value: string | null, transaction?: Transaction | unknown): Promise<void> {
    assertId(userId, 'UserID');
    const listId = assertId(ref.listId, 'ListID');
    const subscriberId = assertId(ref.subscriberId, 'SubscriberID');
    const column = customFieldColumn(fieldId);
    const t = transaction as Transaction | undefined;
    const [field] = await this.sequelize.query<{ CustomFieldID: number }>(
      `SELECT f.CustomFieldID FROM \`${this.tables.customFields}\` f
         JOIN \`${this.tables.lists}\` l ON l.ListID = ? AND l.RelOwnerUserID = ?
        WHERE f.CustomFieldID = ? AND f.RelOwnerUserID = ? AND (f.RelListID = 0 OR f.RelListID = l.ListID)`,
      { type: QueryTypes.SELECT, replacements: [listId, userId, fieldId, userId], transaction: t },
    );
    if (!field) throw JourneysException.notFound(`Custom field ${fieldId} of list ${listId}`);
    const [subscriber] = await this.sequelize.query<{ SubscriberID: number }>(
      `SELECT SubscriberID FROM \`${this.tables.subscribers(listId)}\` WHERE SubscriberID = ? FOR UPDATE`,
      { type: QueryTypes.SELECT, replacements: [subscriberId], transaction: t },
    );
    if (!subscriber) throw JourneysException.notFound(`Subscriber ${subscriberId} of list ${listId}`);
    await this.sequelize.query(`UPDATE \`${this.tables.subscribers(listId)}\` SET \`${column}\` = ? WHERE SubscriberID = ?`, {
      type: QueryTypes.UPDATE,
      replacements: [value, subscriberId],
      transaction: t,
    });
  }
}
