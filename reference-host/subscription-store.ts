/**
 * The statements of the host's subscription path (HostSubscriptions decides
 * what to do; this file says how it is read and written). Writes run in the
 * caller's HostTransaction, queued to travel with the next round trip when
 * their answer is not needed at once: a new address takes two round trips
 * (START + insert, then autoresponders + event + key + COMMIT). A batch takes
 * a few statements per list whatever its size.
 *
 * Lock order, so that sign-ups never deadlock each other: a transaction locks
 * subscriber rows first, through the EmailAddress unique key, and only then
 * writes the autoresponder log, the subscription events and the idempotency
 * keys. A missing address is never locked by a search (READ COMMITTED takes
 * no gap locks for searches): a single sign-up inserts it with
 * `INSERT … ON DUPLICATE KEY UPDATE`, which takes the row's exclusive lock
 * straight away whether it inserts or finds it, so two sign-ups of one
 * address queue on that row instead of deadlocking. A batch inserts its
 * missing addresses in one statement, then locks its existing rows in one
 * statement; should another sign-up insert one of them in between, the batch
 * fails as a whole (ER_DUP_ENTRY, or ConcurrentSignUp) and its caller runs it
 * again.
 */
import type { ResultSetHeader } from 'mysql2/promise';
import { handled, HostStatements, type HostTransaction, type Statement } from './host-db';
import { toSqlDate, toSqlDateMs } from './sql-dates';

/** A custom field column of the list table and its new value. */
export type FieldValue = readonly [column: string, value: string | null];

export interface SignUp {
  emailAddress: string;
  fields: FieldValue[];
  ip: string;
}

/** Whether the sign-up was a real subscription (a new row, or a row that was not subscribed before). */
export interface SignedUp {
  subscriberId: number;
  subscribed: boolean;
}

export interface OptedOut {
  emailAddress: string;
  wasSubscribed: boolean;
}

/** What an idempotency key answered the first time, and the request it answered. */
export interface RememberedCall {
  request: string;
  result: string;
}

/** Whose rows a read is about: a known user, or whoever owns the list (the public API, before it knows). */
export type Owner = { userId: number } | { ownerOfList: number };

/**
 * Thrown when a batch's rows do not add up to what its statements reported,
 * because another sign-up of one of its addresses got in between: the caller
 * rolls back and runs the batch again.
 */
export class ConcurrentSignUp extends Error {
  constructor(listId: number) {
    super(`another sign-up to list ${listId} raced this batch`);
    this.name = 'ConcurrentSignUp';
  }
}

type SubscriberRow = { SubscriberID: number; EmailAddress: string; SubscriptionStatus: string };

const SECONDS_OF_UNIT = `CASE a.TriggerTimeType WHEN 'Seconds later' THEN 1 WHEN 'Minutes later' THEN 60 WHEN 'Hours later' THEN 3600 WHEN 'Days later' THEN 86400 ELSE 0 END`;

export class SubscriptionStore extends HostStatements {
  /** Rows `{ CustomFieldID, RelListID }`: the owner's global fields and those of these lists. */
  customFields(owner: Owner, listIds: number[]): Statement {
    const [ownerSql, ownerParam] = this.ownerOf(owner);
    return [
      `SELECT CustomFieldID, RelListID FROM \`${this.tables.customFields}\` WHERE RelOwnerUserID = ${ownerSql} AND RelListID IN (?)`,
      [ownerParam, [0, ...listIds]],
    ];
  }

  /** Rows `{ IdempotencyKey, request, result }` (RememberedCall) of these keys of the owner (a plain read: a key being written right now shows when its insert collides). */
  remembered(owner: Owner, keys: string[]): Statement {
    const [ownerSql, ownerParam] = this.ownerOf(owner);
    return [
      `SELECT IdempotencyKey, Request AS request, Result AS result FROM \`${this.own.idempotencyKeys}\` WHERE RelOwnerUserID = ${ownerSql} AND IdempotencyKey IN (?)`,
      [ownerParam, keys],
    ];
  }

  /**
   * Subscribes distinct addresses to one list: new addresses get a row, rows
   * that were not subscribed are subscribed again, custom fields are written
   * either way.
   */
  async signUp(tx: HostTransaction, listId: number, signUps: SignUp[], now: Date): Promise<Map<string, SignedUp>> {
    const table = this.tables.subscribers(listId);
    const date = toSqlDate(now);
    const signedUp = new Map<string, SignedUp>();
    if (signUps.length === 1) {
      const [{ emailAddress, fields, ip }] = signUps;
      const columns = fields.map(([column]) => `, \`${column}\``).join('');
      const updates = fields.map(([column]) => `, \`${column}\` = VALUES(\`${column}\`)`).join('');
      // LAST_INSERT_ID(SubscriberID) makes insertId the existing row's id when the address is there already.
      const inserted = await tx.now(
        `INSERT INTO \`${table}\` (EmailAddress, SubscriptionStatus, SubscriptionDate, OptInDate, SubscriptionIP${columns})
         VALUES (?, 'Subscribed', ?, ?, ?${fields.map(() => ', ?').join('')})
         ON DUPLICATE KEY UPDATE SubscriberID = LAST_INSERT_ID(SubscriberID)${updates}`,
        [emailAddress, date, date, ip, ...fields.map(([, value]) => value)],
      );
      const subscriberId = Number(inserted.insertId);
      const subscribed = inserted.affectedRows === 1 || (await tx.now(...this.resubscribe(table, [subscriberId], ip, date))).affectedRows === 1;
      return signedUp.set(emailAddress, { subscriberId, subscribed });
    }

    // Several, in two round trips: which addresses are there (a plain read), then the missing ones inserted
    // in one statement in address order, and only then the existing rows locked through the address key
    // (READ COMMITTED: record locks only, in key order). Inserting before locking, and every batch in the
    // same order, leaves no two batches waiting on each other.
    signUps = [...signUps].sort((a, b) => (a.emailAddress < b.emailAddress ? -1 : a.emailAddress > b.emailAddress ? 1 : 0));
    const before = await tx.now<{ EmailAddress: string }[]>(`SELECT EmailAddress FROM \`${table}\` WHERE EmailAddress IN (?)`, [
      signUps.map((s) => s.emailAddress),
    ]);
    const existing = new Set(before.map((r) => r.EmailAddress));
    const missing = signUps.filter((s) => !existing.has(s.emailAddress));
    const present = signUps.filter((s) => existing.has(s.emailAddress));
    const inserted = missing.length > 0 ? this.insertNew(tx, table, missing, date) : Promise.resolve([]);
    const lockedRows =
      present.length > 0
        ? tx.later<SubscriberRow[]>(`SELECT SubscriberID, EmailAddress, SubscriptionStatus FROM \`${table}\` WHERE EmailAddress IN (?) FOR UPDATE`, [
            present.map((s) => s.emailAddress),
          ])
        : Promise.resolve([]);
    await tx.send();
    const idOf = new Map((await inserted).map((r) => [r.EmailAddress, Number(r.SubscriberID)]));
    const locked = new Map((await lockedRows).map((r) => [r.EmailAddress, r]));
    if (missing.some((s) => !idOf.has(s.emailAddress)) || present.some((s) => !locked.has(s.emailAddress))) throw new ConcurrentSignUp(listId);
    for (const s of missing) signedUp.set(s.emailAddress, { subscriberId: idOf.get(s.emailAddress)!, subscribed: true });

    const again = present.filter((s) => locked.get(s.emailAddress)!.SubscriptionStatus !== 'Subscribed');
    for (const ip of new Set(again.map((s) => s.ip))) {
      const ids = again.filter((s) => s.ip === ip).map((s) => Number(locked.get(s.emailAddress)!.SubscriberID));
      void tx.later(...this.resubscribe(table, ids, ip, date));
    }
    for (const s of present) {
      const subscriberId = Number(locked.get(s.emailAddress)!.SubscriberID);
      this.setFields(tx, listId, subscriberId, s.fields);
      signedUp.set(s.emailAddress, { subscriberId, subscribed: again.includes(s) });
    }
    return signedUp;
  }

  /** Queues the insert of these new addresses and the read of their ids; the insert fails with ER_DUP_ENTRY when another sign-up got one of them in first. */
  private insertNew(tx: HostTransaction, table: string, signUps: SignUp[], date: string): Promise<{ SubscriberID: number; EmailAddress: string }[]> {
    const columns = [...new Set(signUps.flatMap((s) => s.fields.map(([column]) => column)))];
    const rows = signUps.map((s) => {
      const values = new Map(s.fields);
      return [s.emailAddress, 'Subscribed', date, date, s.ip, ...columns.map((c) => values.get(c) ?? null)];
    });
    void tx.later(
      `INSERT INTO \`${table}\` (EmailAddress, SubscriptionStatus, SubscriptionDate, OptInDate, SubscriptionIP${columns.map((c) => `, \`${c}\``).join('')}) VALUES ?`,
      [rows],
    );
    return tx.later(`SELECT SubscriberID, EmailAddress FROM \`${table}\` WHERE EmailAddress IN (?)`, [signUps.map((s) => s.emailAddress)]);
  }

  /** Queues the custom field writes of one subscriber (a row this transaction holds already). */
  setFields(tx: HostTransaction, listId: number, subscriberId: number, fields: FieldValue[]): void {
    if (fields.length === 0) return;
    void tx.later(`UPDATE \`${this.tables.subscribers(listId)}\` SET ${fields.map(([column]) => `\`${column}\` = ?`).join(', ')} WHERE SubscriberID = ?`, [
      ...fields.map(([, value]) => value),
      subscriberId,
    ]);
  }

  /**
   * Unsubscribes these subscribers of one list. Several rows are locked
   * through the address key (a non-locking read finds the addresses first),
   * as sign-ups lock them. Missing ids are left out of the answer.
   */
  async optOut(tx: HostTransaction, listId: number, subscriberIds: number[], now: Date): Promise<Map<number, OptedOut>> {
    const table = this.tables.subscribers(listId);
    let rows: SubscriberRow[];
    if (subscriberIds.length === 1) {
      rows = await tx.now<SubscriberRow[]>(`SELECT SubscriberID, EmailAddress, SubscriptionStatus FROM \`${table}\` WHERE SubscriberID = ? FOR UPDATE`, [
        subscriberIds[0],
      ]);
    } else {
      const found = await tx.now<{ EmailAddress: string }[]>(`SELECT EmailAddress FROM \`${table}\` WHERE SubscriberID IN (?)`, [subscriberIds]);
      rows =
        found.length === 0
          ? []
          : await tx.now<SubscriberRow[]>(`SELECT SubscriberID, EmailAddress, SubscriptionStatus FROM \`${table}\` WHERE EmailAddress IN (?) FOR UPDATE`, [
              found.map((r) => r.EmailAddress),
            ]);
    }
    const leaving = rows.filter((r) => r.SubscriptionStatus !== 'Unsubscribed').map((r) => Number(r.SubscriberID));
    if (leaving.length > 0) {
      void tx.later(`UPDATE \`${table}\` SET SubscriptionStatus = 'Unsubscribed', UnsubscriptionDate = ? WHERE SubscriberID IN (?)`, [toSqlDate(now), leaving]);
    }
    return new Map(rows.map((r) => [Number(r.SubscriberID), { emailAddress: r.EmailAddress, wasSubscribed: r.SubscriptionStatus !== 'Unsubscribed' }]));
  }

  /** Queues the log of the list's on-subscription autoresponders the host would send to these new subscribers: one statement. */
  recordAutoresponders(tx: HostTransaction, ownerUserId: number, listId: number, subscriberIds: number[], now: Date): void {
    if (subscriberIds.length === 0) return;
    const at = toSqlDateMs(now);
    void tx.later(
      `INSERT INTO \`${this.tables.autoresponderLog}\` (RelOwnerUserID, RelAutoResponderID, RelListID, RelSubscriberID, RelEmailID, EmailAddress, ScheduledFor, CreatedAt)
       SELECT a.RelOwnerUserID, a.AutoResponderID, a.RelListID, s.SubscriberID, a.RelEmailID, s.EmailAddress,
              DATE_ADD(CAST(? AS DATETIME(3)), INTERVAL a.TriggerTime * ${SECONDS_OF_UNIT} SECOND), ?
         FROM \`${this.tables.autoresponders}\` a
         JOIN \`${this.tables.subscribers(listId)}\` s ON s.SubscriberID IN (?)
        WHERE a.RelListID = ? AND a.RelOwnerUserID = ? AND a.AutoResponderTriggerType = 'OnSubscription'
        ORDER BY s.SubscriberID, a.AutoResponderID`,
      [at, at, subscriberIds, listId, ownerUserId],
    );
  }

  /**
   * Queues one event row per subscriber; the answer (each subscriber's event
   * id) arrives with the commit. Several rows are read back from the id the
   * insert started at: no other transaction can add an event for these
   * subscribers meanwhile, since this one holds their rows.
   */
  recordEvents(
    tx: HostTransaction,
    ownerUserId: number,
    listId: number,
    type: 'Subscribed' | 'Unsubscribed',
    subscriberIds: number[],
    now: Date,
  ): Promise<Map<number, number>> {
    if (subscriberIds.length === 0) return Promise.resolve(new Map());
    const at = toSqlDateMs(now);
    const inserted = tx.later<ResultSetHeader>(
      `INSERT INTO \`${this.own.subscriptionEvents}\` (RelOwnerUserID, RelListID, RelSubscriberID, EventType, OccurredAt) VALUES ?`,
      [subscriberIds.map((id) => [ownerUserId, listId, id, type, at])],
    );
    if (subscriberIds.length === 1) return handled(inserted.then((r) => new Map([[subscriberIds[0], Number(r.insertId)]])));
    const readBack = tx
      .later<{ SubscriptionEventID: number; RelSubscriberID: number }[]>(
        `SELECT SubscriptionEventID, RelSubscriberID FROM \`${this.own.subscriptionEvents}\`
          WHERE SubscriptionEventID >= LAST_INSERT_ID() AND RelListID = ? AND EventType = ? AND RelSubscriberID IN (?)`,
        [listId, type, subscriberIds],
      )
      .then((rows) => {
        if (rows.length !== subscriberIds.length) throw new Error(`read back ${rows.length} of ${subscriberIds.length} subscription events of list ${listId}`);
        return new Map(rows.map((r) => [Number(r.RelSubscriberID), Number(r.SubscriptionEventID)]));
      });
    return handled(readBack);
  }

  /** Queues the answered keys; a collision (ER_DUP_ENTRY: the same key stored meanwhile) fails the transaction at commit. */
  remember(tx: HostTransaction, ownerUserId: number, calls: Map<string, RememberedCall>, now: Date): void {
    if (calls.size === 0) return;
    const at = toSqlDateMs(now);
    void tx.later(`INSERT INTO \`${this.own.idempotencyKeys}\` (RelOwnerUserID, IdempotencyKey, Request, Result, CreatedAt) VALUES ?`, [
      [...calls].map(([key, call]) => [ownerUserId, key, call.request, call.result, at]),
    ]);
  }

  private resubscribe(table: string, subscriberIds: number[], ip: string, date: string): Statement {
    return [
      `UPDATE \`${table}\` SET SubscriptionStatus = 'Subscribed', SubscriptionDate = ?, OptInDate = ?, SubscriptionIP = ?, UnsubscriptionDate = NULL
        WHERE SubscriberID IN (?) AND SubscriptionStatus <> 'Subscribed'`,
      [date, date, ip, subscriberIds],
    ];
  }

  private ownerOf(owner: Owner): [sql: string, param: number] {
    return 'userId' in owner ? ['?', owner.userId] : [`(SELECT l.RelOwnerUserID FROM \`${this.tables.lists}\` l WHERE l.ListID = ?)`, owner.ownerOfList];
  }
}
