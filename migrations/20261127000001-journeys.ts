/**
 * Journeys and their trigger index. The action tree is stored whole as JSON
 * with the journey (saved atomically with its version); LONGTEXT rather than
 * JSON because MariaDB and MySQL 8 return JSON columns differently.
 * The trigger index makes matching an indexed lookup, never a scan of journeys.
 */
import type { MigrationParams } from '../src/database/migration-context';

export async function up({ context: { sequelize, tables } }: MigrationParams): Promise<void> {
  await sequelize.query(`
    CREATE TABLE \`${tables.journeys}\` (
      JourneyID INT UNSIGNED NOT NULL AUTO_INCREMENT,
      RelOwnerUserID INT UNSIGNED NOT NULL,
      Name VARCHAR(250) NOT NULL,
      Notes TEXT NULL,
      TriggerType VARCHAR(32) NOT NULL,
      TriggerSettings LONGTEXT NOT NULL,
      Status ENUM('Enabled','Disabled') NOT NULL DEFAULT 'Disabled',
      ReEntry ENUM('allow','once') NOT NULL DEFAULT 'allow',
      Actions LONGTEXT NOT NULL,
      Version INT UNSIGNED NOT NULL DEFAULT 1,
      WebhookSecret VARCHAR(100) NOT NULL,
      CreatedAt DATETIME(3) NOT NULL,
      UpdatedAt DATETIME(3) NOT NULL,
      LastActivityAt DATETIME(3) NULL,
      PRIMARY KEY (JourneyID),
      KEY idx_owner_status (RelOwnerUserID, Status)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  await sequelize.query(`
    CREATE TABLE \`${tables.triggers}\` (
      JourneyID INT UNSIGNED NOT NULL,
      RelOwnerUserID INT UNSIGNED NOT NULL,
      TriggerType VARCHAR(32) NOT NULL,
      TargetID INT UNSIGNED NOT NULL COMMENT '0 = any list / email of the owner',
      Enabled TINYINT(1) NOT NULL DEFAULT 0,
      PRIMARY KEY (JourneyID, TargetID),
      KEY idx_match (RelOwnerUserID, TriggerType, Enabled, TargetID)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
}

export async function down({ context: { sequelize, tables } }: MigrationParams): Promise<void> {
  await sequelize.query(`DROP TABLE IF EXISTS \`${tables.triggers}\``);
  await sequelize.query(`DROP TABLE IF EXISTS \`${tables.journeys}\``);
}
