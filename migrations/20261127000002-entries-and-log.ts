/**
 * Entries (one subscriber's pass through one journey) and the execution log.
 *
 * - ActiveLock is 1 while an entry is active, waiting or failed and NULL once it
 *   ended; the unique key on (JourneyID, ListID, SubscriberID, ActiveLock) thus
 *   allows at most one live entry per journey and subscriber, any number of ended ones.
 * - StepSeq grows by one every time the entry moves; wake-up jobs carry it in
 *   their deterministic job id, so a stale job finds the entry moved on.
 * - The log's unique (EntryID, ActionID, Visit) key is the claim of a step: a
 *   retried job that finds the row knows the step already ran.
 */
import type { MigrationParams } from '../src/database/migration-context';

export async function up({ context: { sequelize, tables } }: MigrationParams): Promise<void> {
  await sequelize.query(`
    CREATE TABLE \`${tables.entries}\` (
      EntryID BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      JourneyID INT UNSIGNED NOT NULL,
      RelOwnerUserID INT UNSIGNED NOT NULL,
      ListID INT UNSIGNED NOT NULL,
      SubscriberID INT UNSIGNED NOT NULL,
      EntryNumber INT UNSIGNED NOT NULL DEFAULT 1,
      State ENUM('active','waiting','completed','exited','failed') NOT NULL DEFAULT 'active',
      CurrentActionID VARCHAR(64) NULL,
      WakeAt DATETIME(3) NULL,
      StepSeq INT UNSIGNED NOT NULL DEFAULT 0,
      JourneyVersion INT UNSIGNED NOT NULL,
      ActiveLock TINYINT(1) NULL DEFAULT 1,
      ChainID VARCHAR(128) NOT NULL,
      ChainDepth SMALLINT UNSIGNED NOT NULL DEFAULT 0,
      TriggerEvent TEXT NULL,
      Attempts SMALLINT UNSIGNED NOT NULL DEFAULT 0,
      LastError TEXT NULL,
      ExitReason VARCHAR(255) NULL,
      CreatedAt DATETIME(3) NOT NULL,
      UpdatedAt DATETIME(3) NOT NULL,
      EndedAt DATETIME(3) NULL,
      PRIMARY KEY (EntryID),
      UNIQUE KEY uq_live_entry (JourneyID, ListID, SubscriberID, ActiveLock),
      KEY idx_subscriber (ListID, SubscriberID, State),
      KEY idx_wake (State, WakeAt),
      KEY idx_journey_position (JourneyID, State, CurrentActionID)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  await sequelize.query(`
    CREATE TABLE \`${tables.log}\` (
      LogID BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      EntryID BIGINT UNSIGNED NOT NULL,
      JourneyID INT UNSIGNED NOT NULL,
      ActionID VARCHAR(64) NOT NULL,
      Visit SMALLINT UNSIGNED NOT NULL DEFAULT 1,
      ActionType VARCHAR(32) NOT NULL,
      Status ENUM('pending','running','done','failed','skipped') NOT NULL,
      Result VARCHAR(64) NULL,
      Detail TEXT NULL,
      LeaseUntil DATETIME(3) NULL,
      CreatedAt DATETIME(3) NOT NULL,
      CompletedAt DATETIME(3) NULL,
      PRIMARY KEY (LogID),
      UNIQUE KEY uq_step (EntryID, ActionID, Visit),
      KEY idx_action_stats (JourneyID, ActionID, Status)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
}

export async function down({ context: { sequelize, tables } }: MigrationParams): Promise<void> {
  await sequelize.query(`DROP TABLE IF EXISTS \`${tables.log}\``);
  await sequelize.query(`DROP TABLE IF EXISTS \`${tables.entries}\``);
}
