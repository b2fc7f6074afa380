/**
 * Writes custom field values straight into the host's per-list tables,
 * optionally inside the caller's transaction (the plug-in claims the step and
 * writes the field in one commit when host and plug-in share a database). The
 * transaction is the plug-in's SqlSession (what the runtime hands a host port),
 * or a Sequelize transaction of the host's own.
 */
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { isSqlSession, sequelizeSession, type SqlSession } from '../../database/db';
import { JourneysException } from '../../common/journeys.exception';
import type { CustomFieldWrite, SubscriberRef } from '../host.ports';
import { assertId, customFieldColumn, hostTables, type HostTables } from './host-tables';

export class MySqlCustomFieldWriter {
  readonly tables: HostTables;
  /** Whether the server has JSON_TABLE (MySQL 8, MariaDB 10.6+); probed once. */
  private jsonTable: Promise<boolean> | null = null;

  constructor(
    private readonly sequelize: Sequelize,
    prefix: string,
  ) {
    this.tables = hostTables(prefix);
  }

  /** Throws NotFound when the list, the field or the subscriber is not the user's (or not the list's). */
  async setCustomField(userId: number, ref: SubscriberRef, fieldId: number, value: string | null, transaction?: unknown): Promise<void> {
    assertId(userId, 'UserID');
    const listId = assertId(ref.listId, 'ListID');
    const subscriberId = assertId(ref.subscriberId, 'SubscriberID');
    const column = customFieldColumn(fieldId);
    const db = this.session(transaction);
    const [field] = await db.select<{ CustomFieldID: number }>(
      `SELECT f.CustomFieldID FROM \`${this.tables.customFields}\` f
         JOIN \`${this.tables.lists}\` l ON l.ListID = ? AND l.RelOwnerUserID = ?
        WHERE f.CustomFieldID = ? AND f.RelOwnerUserID = ? AND (f.RelListID = 0 OR f.RelListID = l.ListID)`,
      [listId, userId, fieldId, userId],
    );
    if (!field) throw JourneysException.notFound(`Custom field ${fieldId} of list ${listId}`);
    const [subscriber] = await db.select<{ SubscriberID: number }>(
      `SELECT SubscriberID FROM \`${this.tables.subscribers(listId)}\` WHERE SubscriberID = ? FOR UPDATE`,
      [subscriberId],
    );
    if (!subscriber) throw JourneysException.notFound(`Subscriber ${subscriberId} of list ${listId}`);
    await db.execute(`UPDATE \`${this.tables.subscribers(listId)}\` SET \`${column}\` = ? WHERE SubscriberID = ?`, [value, subscriberId]);
  }

  /**
   * Many values of one list in the caller's transaction: one ownership check
   * for the batch, then one UPDATE … JOIN per field. A join with the new values
   * rather than CASE, so each row is found by its key: JSON_TABLE over one JSON
   * parameter where the server has it (one short statement to parse, however
   * many rows), else a derived table of SELECT … UNION ALL. Subscribers
   * missing from the list are left out, like a no-op update.
   */
  async setCustomFields(userId: number, listId: number, writes: CustomFieldWrite[], transaction?: unknown): Promise<void> {
    if (writes.length === 0) return;
    assertId(userId, 'UserID');
    assertId(listId, 'ListID');
    const db = this.session(transaction);
    const fieldIds = [...new Set(writes.map((w) => assertId(w.fieldId, 'CustomFieldID')))];
    const owned = await db.select<{ CustomFieldID: number }>(
      `SELECT f.CustomFieldID FROM \`${this.tables.customFields}\` f
         JOIN \`${this.tables.lists}\` l ON l.ListID = ? AND l.RelOwnerUserID = ?
        WHERE f.CustomFieldID IN (?) AND f.RelOwnerUserID = ? AND (f.RelListID = 0 OR f.RelListID = l.ListID)`,
      [listId, userId, fieldIds, userId],
    );
    if (owned.length !== fieldIds.length) {
      const mine = new Set(owned.map((f) => Number(f.CustomFieldID)));
      throw JourneysException.notFound(`Custom field ${fieldIds.filter((id) => !mine.has(id)).join(', ')} of list ${listId}`);
    }
    const jsonTable = await this.hasJsonTable();
    for (const fieldId of fieldIds) {
      const lastBySubscriber = new Map<number, string | null>();
      for (const w of writes) if (w.fieldId === fieldId) lastBySubscriber.set(assertId(w.subscriberId, 'SubscriberID'), w.value);
      const target = `\`${this.tables.subscribers(listId)}\` s`;
      const set = `SET s.\`${customFieldColumn(fieldId)}\` = v.Value`;
      if (jsonTable) {
        // [id, value] pairs; a null value is left out ([id]), so the column is NULL by NULL ON EMPTY on every server.
        const rows = JSON.stringify([...lastBySubscriber].map(([id, value]) => (value === null ? [id] : [id, value])));
        await db.execute(
          `UPDATE ${target} JOIN JSON_TABLE(?, '$[*]' COLUMNS (SubscriberID INT UNSIGNED PATH '$[0]', Value LONGTEXT CHARACTER SET utf8mb4 PATH '$[1]')) v
               ON s.SubscriberID = v.SubscriberID ${set}`,
          [rows],
        );
        continue;
      }
      const values = [...lastBySubscriber].map((_, i) => (i === 0 ? 'SELECT ? AS SubscriberID, ? AS Value' : 'SELECT ?, ?')).join(' UNION ALL ');
      await db.execute(`UPDATE ${target} JOIN (${values}) v ON s.SubscriberID = v.SubscriberID ${set}`, [...lastBySubscriber].flat());
    }
  }

  /** Where the statements run: the caller's transaction (the plug-in's SqlSession or a Sequelize one), else this writer's pool. */
  private session(transaction: unknown): SqlSession {
    if (isSqlSession(transaction)) return transaction;
    return sequelizeSession(this.sequelize, transaction as Transaction | undefined);
  }

  /** One probe per writer, outside any transaction; a server without JSON_TABLE answers with a syntax error. */
  private hasJsonTable(): Promise<boolean> {
    this.jsonTable ??= this.sequelize
      .query(
        `SELECT COUNT(*) AS n FROM JSON_TABLE('[[1,"a"],[2]]', '$[*]' COLUMNS (id INT PATH '$[0]', v LONGTEXT CHARACTER SET utf8mb4 PATH '$[1]')) t WHERE t.v IS NULL`,
        {
          type: QueryTypes.SELECT,
        },
      )
      .then(
        (rows) => Number((rows[0] as { n?: number } | undefined)?.n) === 1,
        (error: { parent?: { errno?: number } }) => {
          // 1064 syntax (no JSON_TABLE), 1305 unknown function: the server lacks it. Anything else: ask again next time.
          if (![1064, 1305].includes(error.parent?.errno ?? 0)) this.jsonTable = null;
          return false;
        },
      );
    return this.jsonTable;
  }
}
