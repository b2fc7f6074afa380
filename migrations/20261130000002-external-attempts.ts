/**
 * An external action's claim (its pending log row) counts the attempts that
 * were really made (Attempts, taken with the lease, so the cap counts sends,
 * not wake-ups), says when the next one may start (NotBefore, the backoff) and
 * who holds the lease (LeaseOwner, a token per taker, so a batch of leases is
 * taken with one statement and read back by its token): taking the lease
 * checks both in one statement, so however many jobs arrive for the entry, one
 * sender holds the claim at a time and none sends early.
 */
import type { MigrationParams } from '../src/database/migration-context';

export async function up({ context: { sequelize, tables } }: MigrationParams): Promise<void> {
  await sequelize.query(`
    ALTER TABLE \`${tables.log}\`
      ADD COLUMN LeaseOwner CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER LeaseUntil,
      ADD COLUMN Attempts SMALLINT UNSIGNED NOT NULL DEFAULT 0 AFTER LeaseOwner,
      ADD COLUMN NotBefore DATETIME(3) NULL AFTER Attempts`);
}

export async function down({ context: { sequelize, tables } }: MigrationParams): Promise<void> {
  await sequelize.query(`ALTER TABLE \`${tables.log}\` DROP COLUMN NotBefore, DROP COLUMN Attempts, DROP COLUMN LeaseOwner`);
}
