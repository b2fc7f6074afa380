/**
 * Goals and Wait for event:
 * - a journey's Goal (JSON, NULL for none);
 * - an entry may end as `converted` (met the goal), and WaitingSince says from
 *   when events count for an entry waiting at a Wait for event (NULL otherwise);
 * - the subscribers' opens, clicks and conversions the intake saw, kept for
 *   the goal and Wait for event checks (found by subscriber and time).
 */
import type { MigrationParams } from '../src/database/migration-context';

export async function up({ context: { sequelize, tables } }: MigrationParams): Promise<void> {
  await sequelize.query(`ALTER TABLE \`${tables.journeys}\` ADD COLUMN Goal TEXT NULL AFTER Actions`);
  await sequelize.query(`
    ALTER TABLE \`${tables.entries}\`
      MODIFY State ENUM('active','waiting','completed','exited','failed','converted') NOT NULL DEFAULT 'active',
      ADD COLUMN WaitingSince DATETIME(3) NULL AFTER WakeAt`);
  await sequelize.query(`
    CREATE TABLE \`${tables.subscriberEvents}\` (
      EventID VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
      RelOwnerUserID INT UNSIGNED NOT NULL,
      ListID INT UNSIGNED NOT NULL,
      SubscriberID INT UNSIGNED NOT NULL,
      EventType ENUM('email_opened','link_clicked','conversion') NOT NULL,
      EmailID INT UNSIGNED NULL,
      URL TEXT NULL,
      Channel VARCHAR(100) NULL,
      Value DECIMAL(14,4) NULL,
      OccurredAt DATETIME(3) NOT NULL,
      ReceivedAt DATETIME(3) NOT NULL,
      PRIMARY KEY (EventID),
      KEY idx_subscriber_time (ListID, SubscriberID, OccurredAt),
      KEY idx_received (ReceivedAt)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
}

export async function down({ context: { sequelize, tables } }: MigrationParams): Promise<void> {
  await sequelize.query(`DROP TABLE IF EXISTS \`${tables.subscriberEvents}\``);
  await sequelize.query(`UPDATE \`${tables.entries}\` SET State = 'completed' WHERE State = 'converted'`);
  await sequelize.query(`
    ALTER TABLE \`${tables.entries}\`
      DROP COLUMN WaitingSince,
      MODIFY State ENUM('active','waiting','completed','exited','failed') NOT NULL DEFAULT 'active'`);
  await sequelize.query(`ALTER TABLE \`${tables.journeys}\` DROP COLUMN Goal`);
}
