/**
 * The host's own install SQL (not the plug-in's migrations): the Oempro-style
 * tables the plug-in reads and writes through its ports, plus the activity
 * tables the tracking URLs fill, the log of autoresponders the host "would
 * send", the subscription events its hooks are numbered by, the
 * idempotency keys of the subscription calls it has answered, and the outbox
 * of the emails it "sent" for journeys with the suppression list it checks.
 */
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { assertId, assertPrefix, customFieldColumn, hostTables } from '../src/host/mysql/host-tables';

/** Sessions logged out before they expired (see session.ts): the reference host's own table, no host contract. */
export function revokedSessionsTable(prefix: string): string {
  return `${assertPrefix(prefix)}revoked_sessions`;
}

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/** Tables of the reference host's own bookkeeping, which the plug-in never reads. */
export interface ReferenceHostTables {
  /** One row per subscription or unsubscription that happened: its id is the hook's EventID. */
  subscriptionEvents: string;
  /** Subscription calls answered per (owner, idempotency key), with the answer. */
  idempotencyKeys: string;
  /** One row per Send Email request the host answered (sent or undeliverable); its id is the message id. */
  emailOutbox: string;
  /** Addresses an owner never sends to (a complaint, a manual block): Send Email answers `suppressed`. */
  suppressedEmails: string;
}

export function referenceHostTables(prefix: string): ReferenceHostTables {
  const p = assertPrefix(prefix);
  return {
    subscriptionEvents: `${p}subscription_events`,
    idempotencyKeys: `${p}idempotency_keys`,
    emailOutbox: `${p}email_outbox`,
    suppressedEmails: `${p}suppressed_emails`,
  };
}

/** The column of opens and clicks naming the send they belong to. */
const MESSAGE_COLUMN = "RelMessageID BIGINT UNSIGNED NULL COMMENT 'the outbox row (OutboxID) of a journey-sent email'";

/** The longest idempotency key the host stores. */
export const IDEMPOTENCY_KEY_MAX = 255;

export async function installHostSchema(sequelize: Sequelize, prefix: string): Promise<void> {
  const t = hostTables(prefix);
  const own = referenceHostTables(prefix);
  const statements = [
    `CREATE TABLE IF NOT EXISTS \`${t.users}\` (
      UserID INT UNSIGNED NOT NULL AUTO_INCREMENT,
      Username VARCHAR(100) NOT NULL,
      EmailAddress VARCHAR(250) NOT NULL,
      FirstName VARCHAR(100) NOT NULL DEFAULT '',
      LastName VARCHAR(100) NOT NULL DEFAULT '',
      TimeZone VARCHAR(64) NOT NULL DEFAULT 'UTC',
      PRIMARY KEY (UserID), UNIQUE KEY uq_username (Username)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS \`${t.lists}\` (
      ListID INT UNSIGNED NOT NULL AUTO_INCREMENT,
      RelOwnerUserID INT UNSIGNED NOT NULL,
      Name VARCHAR(250) NOT NULL,
      OptInMode ENUM('Single','Double') NOT NULL DEFAULT 'Single',
      CreatedAt DATETIME NOT NULL,
      PRIMARY KEY (ListID), KEY idx_owner (RelOwnerUserID)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS \`${t.customFields}\` (
      CustomFieldID INT UNSIGNED NOT NULL AUTO_INCREMENT,
      RelOwnerUserID INT UNSIGNED NOT NULL,
      RelListID INT UNSIGNED NOT NULL DEFAULT 0 COMMENT '0 = global field of the user',
      FieldName VARCHAR(250) NOT NULL,
      FieldType ENUM('Single line','Paragraph text','Multiple choice','Drop down','Checkboxes','Hidden field','Date field','Time field','Number') NOT NULL,
      FieldOptions TEXT NULL,
      DefaultValue VARCHAR(250) NULL,
      PRIMARY KEY (CustomFieldID), KEY idx_owner_list (RelOwnerUserID, RelListID)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS \`${t.emails}\` (
      EmailID INT UNSIGNED NOT NULL AUTO_INCREMENT,
      RelOwnerUserID INT UNSIGNED NOT NULL,
      EmailName VARCHAR(250) NOT NULL,
      Subject VARCHAR(250) NOT NULL DEFAULT '',
      ContentType ENUM('HTML','Plain','Both') NOT NULL DEFAULT 'HTML',
      HTMLContent MEDIUMTEXT NULL,
      PRIMARY KEY (EmailID), KEY idx_owner (RelOwnerUserID)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS \`${t.campaigns}\` (
      CampaignID INT UNSIGNED NOT NULL AUTO_INCREMENT,
      RelOwnerUserID INT UNSIGNED NOT NULL,
      RelEmailID INT UNSIGNED NOT NULL,
      RelListID INT UNSIGNED NOT NULL,
      CampaignName VARCHAR(250) NOT NULL,
      CampaignStatus ENUM('Draft','Ready','Sending','Sent','Paused') NOT NULL DEFAULT 'Draft',
      SendDate DATETIME NULL,
      PRIMARY KEY (CampaignID), KEY idx_owner (RelOwnerUserID), KEY idx_email (RelEmailID)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS \`${t.autoresponders}\` (
      AutoResponderID INT UNSIGNED NOT NULL AUTO_INCREMENT,
      RelOwnerUserID INT UNSIGNED NOT NULL,
      RelListID INT UNSIGNED NOT NULL,
      RelEmailID INT UNSIGNED NOT NULL,
      AutoResponderName VARCHAR(250) NOT NULL,
      AutoResponderTriggerType ENUM('OnSubscription','OnSubscriberLinkClick','OnSubscriberDate') NOT NULL DEFAULT 'OnSubscription',
      TriggerTimeType ENUM('Immediately','Seconds later','Minutes later','Hours later','Days later') NOT NULL DEFAULT 'Immediately',
      TriggerTime INT UNSIGNED NOT NULL DEFAULT 0,
      PRIMARY KEY (AutoResponderID), KEY idx_list_trigger (RelListID, AutoResponderTriggerType), KEY idx_email (RelEmailID)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS \`${t.autoresponderLog}\` (
      LogID BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      RelOwnerUserID INT UNSIGNED NOT NULL,
      RelAutoResponderID INT UNSIGNED NOT NULL,
      RelListID INT UNSIGNED NOT NULL,
      RelSubscriberID INT UNSIGNED NOT NULL,
      RelEmailID INT UNSIGNED NOT NULL,
      EmailAddress VARCHAR(250) NOT NULL,
      ScheduledFor DATETIME(3) NOT NULL,
      CreatedAt DATETIME(3) NOT NULL,
      PRIMARY KEY (LogID), KEY idx_subscriber (RelListID, RelSubscriberID)
    ) ${TABLE_OPTIONS}`,
    // SessionID is base64url, so compared byte for byte (ascii_bin), never case-insensitively.
    `CREATE TABLE IF NOT EXISTS \`${revokedSessionsTable(prefix)}\` (
      SessionID CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      RelUserID INT UNSIGNED NOT NULL,
      RevokedAt DATETIME(3) NOT NULL,
      ExpiresAt DATETIME(3) NOT NULL,
      PRIMARY KEY (SessionID), KEY idx_expires (ExpiresAt)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS \`${own.subscriptionEvents}\` (
      SubscriptionEventID BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      RelOwnerUserID INT UNSIGNED NOT NULL,
      RelListID INT UNSIGNED NOT NULL,
      RelSubscriberID INT UNSIGNED NOT NULL,
      EventType ENUM('Subscribed','Unsubscribed') NOT NULL,
      OccurredAt DATETIME(3) NOT NULL,
      PRIMARY KEY (SubscriptionEventID), KEY idx_subscriber (RelListID, RelSubscriberID)
    ) ${TABLE_OPTIONS}`,
    // Keys compare byte for byte: "Key-A" and "key-a" are two calls.
    `CREATE TABLE IF NOT EXISTS \`${own.idempotencyKeys}\` (
      RelOwnerUserID INT UNSIGNED NOT NULL,
      IdempotencyKey VARCHAR(${IDEMPOTENCY_KEY_MAX}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
      Request VARCHAR(400) NOT NULL,
      Result TEXT NOT NULL,
      CreatedAt DATETIME(3) NOT NULL,
      PRIMARY KEY (RelOwnerUserID, IdempotencyKey)
    ) ${TABLE_OPTIONS}`,
    // Keys compare byte for byte, as above; the unique key is what makes a repeated Send Email record nothing.
    `CREATE TABLE IF NOT EXISTS \`${own.emailOutbox}\` (
      OutboxID BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      RelOwnerUserID INT UNSIGNED NOT NULL,
      RelListID INT UNSIGNED NOT NULL,
      RelSubscriberID INT UNSIGNED NOT NULL,
      RelEmailID INT UNSIGNED NOT NULL,
      EmailAddress VARCHAR(250) NOT NULL,
      JourneyID BIGINT UNSIGNED NOT NULL,
      EntryID BIGINT UNSIGNED NOT NULL,
      IdempotencyKey VARCHAR(${IDEMPOTENCY_KEY_MAX}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
      Status ENUM('sent','undeliverable') NOT NULL,
      Reason ENUM('not_subscribed','bounced','suppressed') NULL,
      CreatedAt DATETIME(3) NOT NULL,
      PRIMARY KEY (OutboxID), UNIQUE KEY uq_owner_key (RelOwnerUserID, IdempotencyKey), KEY idx_owner (RelOwnerUserID, OutboxID)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS \`${own.suppressedEmails}\` (
      RelOwnerUserID INT UNSIGNED NOT NULL,
      EmailAddress VARCHAR(250) NOT NULL,
      CreatedAt DATETIME(3) NOT NULL,
      PRIMARY KEY (RelOwnerUserID, EmailAddress)
    ) ${TABLE_OPTIONS}`,
    ...(['opens', 'clicks', 'conversions'] as const).map(
      (kind) => `CREATE TABLE IF NOT EXISTS \`${t[kind]}\` (
      StatID BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      RelOwnerUserID INT UNSIGNED NOT NULL,
      RelListID INT UNSIGNED NOT NULL,
      RelSubscriberID INT UNSIGNED NOT NULL,
      RelEmailID INT UNSIGNED NOT NULL,
      RelCampaignID INT UNSIGNED NULL,
      RelAutoResponderID INT UNSIGNED NULL,
      ${kind === 'clicks' ? 'LinkURL TEXT NOT NULL,' : ''}
      ${kind === 'conversions' ? '' : `${MESSAGE_COLUMN}, KEY idx_message (RelMessageID),`}
      ${kind === 'conversions' ? 'Channel VARCHAR(100) NULL, Value DECIMAL(14,2) NULL, TransactionID VARCHAR(128) NULL, UNIQUE KEY uq_transaction (RelListID, TransactionID),' : ''}
      ActivityDate DATETIME(3) NOT NULL,
      PRIMARY KEY (StatID),
      KEY idx_subscriber_email (RelOwnerUserID, RelListID, RelSubscriberID, RelEmailID)
    ) ${TABLE_OPTIONS}`,
    ),
  ];
  for (const sql of statements) await sequelize.query(sql);
  await addMessageColumns(sequelize, [t.opens, t.clicks]);
}

/** Opens and clicks tables made before they kept the message of a journey-sent email get its column. */
async function addMessageColumns(sequelize: Sequelize, tables: string[]): Promise<void> {
  const having = await sequelize.query<{ TABLE_NAME: string }>(
    `SELECT TABLE_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?) AND COLUMN_NAME = 'RelMessageID'`,
    { type: QueryTypes.SELECT, replacements: [tables] },
  );
  for (const table of tables.filter((name) => !having.some((h) => h.TABLE_NAME === name))) {
    await sequelize.query(`ALTER TABLE \`${table}\` ADD COLUMN ${MESSAGE_COLUMN}, ADD KEY idx_message (RelMessageID)`);
  }
}

/** Creates `<prefix>subscribers_<ListID>` with a column for each of the user's global fields and the list's own fields. */
export async function createListTable(sequelize: Sequelize, prefix: string, ownerUserId: number, listId: number, transaction?: Transaction): Promise<void> {
  const t = hostTables(prefix);
  const fields = await sequelize.query<{ CustomFieldID: number }>(
    `SELECT CustomFieldID FROM \`${t.customFields}\` WHERE RelOwnerUserID = ? AND (RelListID = 0 OR RelListID = ?) ORDER BY CustomFieldID`,
    { type: QueryTypes.SELECT, replacements: [assertId(ownerUserId, 'UserID'), assertId(listId, 'ListID')], transaction },
  );
  const fieldColumns = fields.map((f) => `\`${customFieldColumn(Number(f.CustomFieldID))}\` TEXT NULL,`).join('\n      ');
  await sequelize.query(
    `CREATE TABLE IF NOT EXISTS \`${t.subscribers(listId)}\` (
      SubscriberID INT UNSIGNED NOT NULL AUTO_INCREMENT,
      EmailAddress VARCHAR(250) NOT NULL,
      BounceType ENUM('Not Bounced','Soft','Hard') NOT NULL DEFAULT 'Not Bounced',
      SubscriptionStatus ENUM('Opt-In Pending','Subscribed','Opt-Out Pending','Unsubscribed') NOT NULL DEFAULT 'Subscribed',
      SubscriptionDate DATETIME NULL,
      SubscriptionIP VARCHAR(45) NOT NULL DEFAULT '',
      UnsubscriptionDate DATETIME NULL,
      UnsubscriptionIP VARCHAR(45) NOT NULL DEFAULT '',
      OptInDate DATETIME NULL,
      ${fieldColumns}
      PRIMARY KEY (SubscriberID), UNIQUE KEY uq_email (EmailAddress)
    ) ${TABLE_OPTIONS}`,
    { transaction },
  );
}
