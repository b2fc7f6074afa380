/**
 * Processed host event ids (the same event never enrols twice) and outgoing
 * webhook deliveries (stable DeliveryID = the `webhook-id` header, so a
 * receiver can drop a repeated delivery).
 */
import type { MigrationParams } from '../src/database/migration-context';

export async function up({ context: { sequelize, tables } }: MigrationParams): Promise<void> {
  await sequelize.query(`
    CREATE TABLE \`${tables.events}\` (
      EventID VARCHAR(128) NOT NULL,
      ReceivedAt DATETIME(3) NOT NULL,
      PRIMARY KEY (EventID),
      KEY idx_received (ReceivedAt)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  await sequelize.query(`
    CREATE TABLE \`${tables.webhookDeliveries}\` (
      DeliveryID VARCHAR(100) NOT NULL,
      EntryID BIGINT UNSIGNED NOT NULL,
      JourneyID INT UNSIGNED NOT NULL,
      ActionID VARCHAR(64) NOT NULL,
      URL TEXT NOT NULL,
      Status ENUM('pending','delivered','failed') NOT NULL DEFAULT 'pending',
      Attempts SMALLINT UNSIGNED NOT NULL DEFAULT 0,
      NextAttemptAt DATETIME(3) NULL,
      LastStatusCode SMALLINT UNSIGNED NULL,
      LastError TEXT NULL,
      CreatedAt DATETIME(3) NOT NULL,
      UpdatedAt DATETIME(3) NOT NULL,
      PRIMARY KEY (DeliveryID),
      KEY idx_entry (EntryID)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
}

export async function down({ context: { sequelize, tables } }: MigrationParams): Promise<void> {
  await sequelize.query(`DROP TABLE IF EXISTS \`${tables.webhookDeliveries}\``);
  await sequelize.query(`DROP TABLE IF EXISTS \`${tables.events}\``);
}
