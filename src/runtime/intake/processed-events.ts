/**
 * The processed-events table: every event id the plug-in has acted on (trigger
 * events, and the signed ingest's webhook ids under their own prefix), kept for
 * EVENT_RETENTION_MS so a repeated id is recognised and enrols nobody.
 */
import { Inject, Injectable } from '@nestjs/common';
import { DB, TABLES } from '../../core/tokens';
import { sqlDate, type Db, type SqlSession } from '../../database/db';
import type { PluginTables } from '../../database/tables';

@Injectable()
export class ProcessedEvents {
  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(TABLES) private readonly tables: PluginTables,
  ) {}

  /** Records these ids; returns how many were new (INSERT IGNORE: seen ones are skipped). */
  async record(eventIds: readonly string[], receivedAt: Date, session: SqlSession = this.db): Promise<number> {
    if (eventIds.length === 0) return 0;
    const at = sqlDate(receivedAt);
    const { affectedRows } = await session.execute(`INSERT IGNORE INTO \`${this.tables.events}\` (EventID, ReceivedAt) VALUES ?`, [
      eventIds.map((id) => [id, at]),
    ]);
    return affectedRows;
  }

  /** The ids among these that were recorded before. */
  async seen(eventIds: readonly string[], session: SqlSession = this.db): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set();
    const rows = await session.select<{ EventID: string }>(`SELECT EventID FROM \`${this.tables.events}\` WHERE EventID IN (?)`, [eventIds]);
    return new Set(rows.map((r) => r.EventID));
  }

  /** Forgets ids received before `before`, a bounded number per call; returns how many. */
  async prune(before: Date, limit = 10_000): Promise<number> {
    const { affectedRows } = await this.db.execute(`DELETE FROM \`${this.tables.events}\` WHERE ReceivedAt < ? LIMIT ${Number(limit)}`, [sqlDate(before)]);
    return affectedRows;
  }
}
