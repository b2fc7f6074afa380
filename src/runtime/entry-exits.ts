/**
 * Ends live entries of a journey with a reason (a subscriber taken out by the
 * API, entries at actions an edit removed). Entries are found first, then
 * updated by primary key in id order, the same order the workers lock them
 * in, so this never deadlocks with a running step; StepSeq moves on so a
 * queued job finds them gone.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Sequelize, Transaction } from 'sequelize';
import { CLOCK, SEQUELIZE, TABLES, type Clock } from '../core/tokens';
import type { PluginTables } from '../database/tables';
import type { SubscriberRef } from '../host/host.ports';
import { chunk } from './queues';
import { execute, select, sqlDate } from './sql';

export interface ExitFilter {
  journeyId: number;
  refs?: SubscriberRef[];
  actionIds?: string[];
}

@Injectable()
export class EntryExits {
  constructor(
    @Inject(SEQUELIZE) private readonly sequelize: Sequelize,
    @Inject(TABLES) private readonly tables: PluginTables,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Returns how many entries ended. */
  async exit(filter: ExitFilter, reason: string, transaction?: Transaction): Promise<number> {
    if ((filter.refs && filter.refs.length === 0) || (filter.actionIds && filter.actionIds.length === 0)) return 0;
    const conditions = ['JourneyID = ?', 'ActiveLock = 1'];
    const params: unknown[] = [filter.journeyId];
    if (filter.actionIds) {
      conditions.push('CurrentActionID IN (?)');
      params.push(filter.actionIds);
    }
    const ids: number[] = [];
    for (const refs of filter.refs ? chunk(filter.refs, 1000) : [null]) {
      const extra = refs ? ` AND (ListID, SubscriberID) IN (${refs.map(() => '(?, ?)').join(', ')})` : '';
      const rows = await select<{ EntryID: number }>(
        this.sequelize,
        `SELECT EntryID FROM \`${this.tables.entries}\` WHERE ${conditions.join(' AND ')}${extra}`,
        [...params, ...(refs ?? []).flatMap((r) => [r.listId, r.subscriberId])],
        transaction,
      );
      for (const row of rows) ids.push(Number(row.EntryID));
    }
    const nowSql = sqlDate(this.clock.now());
    let ended = 0;
    for (const part of chunk(
      ids.sort((a, b) => a - b),
      1000,
    )) {
      const { affectedRows } = await execute(
        this.sequelize,
        `UPDATE \`${this.tables.entries}\`
            SET State = 'exited', ActiveLock = NULL, WakeAt = NULL, ExitReason = ?, EndedAt = ?, UpdatedAt = ?, StepSeq = StepSeq + 1
          WHERE EntryID IN (?) AND ActiveLock = 1`,
        [reason.slice(0, 255), nowSql, nowSql, part],
        transaction,
      );
      ended += affectedRows;
    }
    return ended;
  }
}
