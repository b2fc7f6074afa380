/**
 * A `setCustomFields` for the reference host's MySQL schema: what the runtime
 * uses when a host offers it (see src/runtime/host-batch.ts). One ownership
 * check per batch and one UPDATE … JOIN per field, in the caller's
 * transaction. Proposed for MySqlCustomFieldWriter; tests and benchmarks
 * attach it to the reference host's subscription port.
 */
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { JourneysException } from '../../src/common/journeys.exception';
import { assertId, customFieldColumn, hostTables } from '../../src/host/mysql/host-tables';
import type { CustomFieldWrite } from '../../src/runtime/host-batch';

export function mysqlSetCustomFields(sequelize: Sequelize, prefix: string) {
  const tables = hostTables(prefix);
  return async (userId: number, listId: number, writes: CustomFieldWrite[], transaction?: unknown): Promise<void> => {
    if (writes.length === 0) return;
    assertId(userId, 'UserID');
    assertId(listId, 'ListID');
    const t = transaction as Transaction | undefined;
    const fieldIds = [...new Set(writes.map((w) => w.fieldId))];
    const owned = await sequelize.query<{ CustomFieldID: number }>(
      `SELECT f.CustomFieldID FROM \`${tables.customFields}\` f JOIN \`${tables.lists}\` l ON l.ListID = ? AND l.RelOwnerUserID = ?
        WHERE f.CustomFieldID IN (?) AND f.RelOwnerUserID = ? AND (f.RelListID = 0 OR f.RelListID = l.ListID)`,
      { type: QueryTypes.SELECT, replacements: [listId, userId, fieldIds, userId], transaction: t },
    );
    if (owned.length !== fieldIds.length) throw JourneysException.notFound(`Custom field of list ${listId}`);
    for (const fieldId of fieldIds) {
      // A join with the new values (a derived table) rather than CASE: each row is found by its key, not by a scan of the WHENs.
      const mine = writes.filter((w) => w.fieldId === fieldId);
      const rows = mine.map((_, i) => (i === 0 ? 'SELECT ? AS SubscriberID, ? AS Value' : 'SELECT ?, ?')).join(' UNION ALL ');
      await sequelize.query(
        `UPDATE \`${tables.subscribers(listId)}\` s JOIN (${rows}) v ON s.SubscriberID = v.SubscriberID SET s.\`${customFieldColumn(fieldId)}\` = v.Value`,
        { replacements: mine.flatMap((w) => [assertId(w.subscriberId, 'SubscriberID'), w.value]), transaction: t },
      );
    }
  };
}
