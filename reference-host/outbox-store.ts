/**
 * The statements of the host's Send Email path (HostEmailSender decides what
 * to do; this file says how it is read and written), and how an outbox row
 * reads as the contract's answer.
 *
 * Reads of a batch travel together (readTogether). A batch's rows are written
 * by one multi-row insert that skips a row whose (owner, idempotency key) is
 * there already, and read back by that key in the same round trip: a
 * concurrent call with the same key that got in first is then answered from
 * its row, as a repeated call would be.
 */
import type { SendEmailRequest, SendEmailResult } from '../src/host/host.ports';
import { HostStatements, type Statement } from './host-db';
import { toSqlDateMs } from './sql-dates';
import type { RememberedCall } from './subscription-store';

export type UndeliverableReason = Extract<SendEmailResult, { status: 'undeliverable' }>['reason'];

/** What a Send Email request names, as the path plans and stores it. */
export interface SendFields extends Omit<SendEmailRequest, 'idempotencyKey'> {
  key: string;
}

/** A row of the outbox: one answered Send Email request. */
export interface OutboxRow {
  OutboxID: number;
  RelOwnerUserID: number;
  RelListID: number;
  RelSubscriberID: number;
  RelEmailID: number;
  EmailAddress: string;
  JourneyID: number;
  EntryID: number;
  IdempotencyKey: string;
  Status: 'sent' | 'undeliverable';
  Reason: UndeliverableReason | null;
  CreatedAt: Date;
}

/** A row to insert: the request, its recipient's address, and the answer decided for it. */
export interface OutboxInsert extends SendFields {
  emailAddress: string;
  reason: UndeliverableReason | null;
}

/** A subscriber as Send Email sees it: whether they may receive mail at all. */
export interface Recipient {
  SubscriberID: number;
  EmailAddress: string;
  SubscriptionStatus: string;
  BounceType: string;
  /** 1 when the list owner's suppression list holds the address. */
  Suppressed: number;
}

const OUTBOX_COLUMNS =
  'OutboxID, RelOwnerUserID, RelListID, RelSubscriberID, RelEmailID, EmailAddress, JourneyID, EntryID, IdempotencyKey, Status, Reason, CreatedAt';

/** The message id of a sent row: stable, since the row is never written again. */
export function messageIdOf(outboxId: number): string {
  return `outbox-${outboxId}`;
}

/** The message id's row, or null when it is not one of ours. */
export function outboxIdOf(messageId: string): number | null {
  const match = /^outbox-([1-9]\d{0,17})$/.exec(messageId);
  return match ? Number(match[1]) : null;
}

/** What a key stands for: a key used again for another request is refused. */
export function sendRequestText(r: Omit<SendFields, 'key' | 'userId'>): string {
  return `send-email ${r.listId} ${r.subscriberId} ${r.emailId} journey ${r.journeyId} entry ${r.entryId}`;
}

export function undeliverableMessage(reason: UndeliverableReason, emailAddress: string, listId: number): string {
  switch (reason) {
    case 'not_subscribed':
      return `${emailAddress} is not subscribed to list ${listId}`;
    case 'bounced':
      return `${emailAddress} has bounced (hard bounce)`;
    case 'suppressed':
      return `${emailAddress} is on the suppression list`;
  }
}

/** The answer a row stands for. */
export function resultOf(row: OutboxRow): SendEmailResult {
  const outboxId = Number(row.OutboxID);
  if (row.Status === 'sent') return { status: 'sent', messageId: messageIdOf(outboxId) };
  const reason = row.Reason ?? 'not_subscribed';
  return { status: 'undeliverable', reason, message: undeliverableMessage(reason, row.EmailAddress, Number(row.RelListID)) };
}

/** A row as the idempotency helpers of subscription-calls.ts read a stored answer. */
export function rememberedOf(row: OutboxRow): RememberedCall {
  const request = sendRequestText({
    listId: Number(row.RelListID),
    subscriberId: Number(row.RelSubscriberID),
    emailId: Number(row.RelEmailID),
    journeyId: Number(row.JourneyID),
    entryId: Number(row.EntryID),
  });
  return { request, result: JSON.stringify(resultOf(row)) };
}

/** The key a row or a request is found by: keys are per owner. */
export function ownerKey(userId: number, key: string): string {
  return `${userId} ${key}`;
}

export class OutboxStore extends HostStatements {
  /** Rows `{ EmailID, RelOwnerUserID }` of these emails. */
  emails(emailIds: number[]): Statement {
    return [`SELECT EmailID, RelOwnerUserID FROM \`${this.tables.emails}\` WHERE EmailID IN (?)`, [emailIds]];
  }

  /** Recipient rows of these subscribers of one list (the table must exist: the list must). */
  recipients(listId: number, subscriberIds: number[]): Statement {
    return [
      `SELECT s.SubscriberID, s.EmailAddress, s.SubscriptionStatus, s.BounceType,
              EXISTS (SELECT 1 FROM \`${this.own.suppressedEmails}\` x WHERE x.RelOwnerUserID = l.RelOwnerUserID AND x.EmailAddress = s.EmailAddress) AS Suppressed
         FROM \`${this.tables.subscribers(listId)}\` s JOIN \`${this.tables.lists}\` l ON l.ListID = ?
        WHERE s.SubscriberID IN (?)`,
      [listId, subscriberIds],
    ];
  }

  /** Outbox rows (OutboxRow) of these owners' keys; the caller keeps the (owner, key) pairs it asked for. */
  answered(userIds: number[], keys: string[]): Statement {
    return [`SELECT ${OUTBOX_COLUMNS} FROM \`${this.own.emailOutbox}\` WHERE RelOwnerUserID IN (?) AND IdempotencyKey IN (?)`, [userIds, keys]];
  }

  /** One insert for the whole batch; a row whose (owner, key) is there already is skipped, the first one stays. */
  record(rows: OutboxInsert[], now: Date): Statement {
    const at = toSqlDateMs(now);
    return [
      `INSERT INTO \`${this.own.emailOutbox}\` (RelOwnerUserID, RelListID, RelSubscriberID, RelEmailID, EmailAddress, JourneyID, EntryID, IdempotencyKey, Status, Reason, CreatedAt)
       VALUES ? ON DUPLICATE KEY UPDATE OutboxID = OutboxID`,
      [
        rows.map((r) => [
          r.userId,
          r.listId,
          r.subscriberId,
          r.emailId,
          r.emailAddress,
          r.journeyId,
          r.entryId,
          r.key,
          r.reason === null ? 'sent' : 'undeliverable',
          r.reason,
          at,
        ]),
      ],
    ];
  }

  /** The owner's latest outbox rows with the email's name and the opens and clicks tracked for each message, newest first. */
  latest(userId: number, limit: number): Statement {
    return [
      `SELECT o.OutboxID, o.RelListID, o.RelSubscriberID, o.RelEmailID, o.EmailAddress, o.JourneyID, o.Status, o.Reason, o.CreatedAt, e.EmailName,
              (SELECT COUNT(*) FROM \`${this.tables.opens}\` s WHERE s.RelMessageID = o.OutboxID) AS Opens,
              (SELECT COUNT(*) FROM \`${this.tables.clicks}\` s WHERE s.RelMessageID = o.OutboxID) AS Clicks
         FROM \`${this.own.emailOutbox}\` o LEFT JOIN \`${this.tables.emails}\` e ON e.EmailID = o.RelEmailID AND e.RelOwnerUserID = o.RelOwnerUserID
        WHERE o.RelOwnerUserID = ? ORDER BY o.OutboxID DESC LIMIT ?`,
      [userId, limit],
    ];
  }

  /** Adds an address to the owner's suppression list (again: nothing changes). */
  suppress(userId: number, emailAddress: string, now: Date): Statement {
    return [
      `INSERT INTO \`${this.own.suppressedEmails}\` (RelOwnerUserID, EmailAddress, CreatedAt) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE EmailAddress = EmailAddress`,
      [userId, emailAddress, toSqlDateMs(now)],
    ];
  }
}
