/**
 * The execution log's claim key becomes (EntryID, ActionID): an entry passes
 * each action of its tree at most once (branches never rejoin, retry of an
 * instant action drops its failed claim first), so the Visit column was
 * always 1. The never-written 'running' status goes too.
 */
import type { MigrationParams } from '../src/database/migration-context';

export async function up({ context: { sequelize, tables } }: MigrationParams): Promise<void> {
  await sequelize.query(`
    ALTER TABLE \`${tables.log}\`
      DROP INDEX uq_step,
      ADD UNIQUE KEY uq_step (EntryID, ActionID),
      DROP COLUMN Visit,
      MODIFY Status ENUM('pending','done','failed','skipped') NOT NULL`);
}

export async function down({ context: { sequelize, tables } }: MigrationParams): Promise<void> {
  await sequelize.query(`
    ALTER TABLE \`${tables.log}\`
      ADD COLUMN Visit SMALLINT UNSIGNED NOT NULL DEFAULT 1 AFTER ActionID,
      MODIFY Status ENUM('pending','running','done','failed','skipped') NOT NULL,
      DROP INDEX uq_step,
      ADD UNIQUE KEY uq_step (EntryID, ActionID, Visit)`);
}
