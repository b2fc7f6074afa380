/**
 * The entry store: every statement on the entries and execution-log tables
 * is here, and nothing else in the plug-in writes those tables (the
 * boundaries test checks it). Longer than the usual file on purpose: one
 * place to read every lock, claim and position the runtime writes.
 *
 * Habits every method keeps:
 * - Live entries are locked by primary key in EntryID order, the only way the
 *   runtime takes entry locks, so transactions never wait on each other in a
 *   cycle (a lock wait between a step and an exit is a plain wait).
 * - Every position change bumps StepSeq, so a queued job from an earlier step
 *   finds the entry moved on.
 * - A log row is the claim of a step: its unique (EntryID, ActionID) key means
 *   a retried job that finds the row knows the step already ran.
 */
import { Inject, Injectable } from '@nestjs/common';
import { DB, TABLES } from '../core/tokens';
import { sqlDate, type Db, type SqlSession, type SqlTransaction } from '../database/db';
import type { PluginTables } from '../database/tables';
import type { EntryState } from '../engine/step.types';
import type { SubscriberRef } from '../engine/host-facts.types';
import { ended, normaliseEntry, refOf, subscriberKey, type EntryRow, type FinalPosition, type LogRow } from './entry.types';
import { chunk } from './queues';

const ENTRY_COLUMNS =
  'EntryID, JourneyID, RelOwnerUserID, ListID, SubscriberID, State, CurrentActionID, WakeAt, StepSeq, ChainID, ChainDepth, TriggerEvent, Attempts, EntryNumber, CreatedAt, WaitingSince';

/** ENTRY_COLUMNS without the trigger event, of table `alias`: a look before the lock (the step re-reads the rows under it). */
function peekColumns(alias: string): string {
  return ENTRY_COLUMNS.split(', ')
    .map((column) => (column === 'TriggerEvent' ? 'NULL AS TriggerEvent' : `${alias}.${column}`))
    .join(', ');
}

/** A new entry as enrolment inserts it: active at the start, or already exited (refused by the loop bound). */
export interface NewEntry {
  journeyId: number;
  ownerUserId: number;
  listId: number;
  subscriberId: number;
  entryNumber: number;
  journeyVersion: number;
  chainId: string;
  chainDepth: number;
  triggerEvent: string | null;
  /** Set when the loop bound refused it. */
  refusedReason: string | null;
  /** Where its first step leaves it, when decided before the insert (a list import); absent: active at the start. */
  position?: FinalPosition;
}

/** An entry's place as the scheduler needs it to queue work. */
export interface Position {
  EntryID: number;
  StepSeq: number;
  State: string;
  WakeAt: Date | null;
}

export interface ExitFilter {
  journeyId: number;
  refs?: SubscriberRef[];
  actionIds?: string[];
}

export interface PastEntries {
  SubscriberID: number;
  n: number;
  live: number | null;
}

export interface LockedEntry {
  EntryID: number;
  JourneyID: number;
  RelOwnerUserID: number;
  CurrentActionID: string | null;
  StepSeq: number;
  State: EntryState;
  LastError: string | null;
}

export interface KnownEntry {
  EntryID: number;
  JourneyID: number;
  ListID: number;
  SubscriberID: number;
  State: EntryState;
  ActiveLock: number | null;
}

@Injectable()
export class EntryStore {
  private idStep: Promise<number | null> | null = null;

  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(TABLES) private readonly tables: PluginTables,
  ) {}

  // ── Reading and locking ────────────────────────────────────────────────

  /** An unlocked look at entries that might run (live, active or waiting). */
  async peekRunnable(entryIds: readonly number[]): Promise<EntryRow[]> {
    const rows = await this.db.select<EntryRow>(
      `SELECT ${peekColumns('e')}
         FROM \`${this.tables.entries}\` e WHERE EntryID IN (?) AND ActiveLock = 1 AND State IN ('active','waiting')`,
      [entryIds],
    );
    return rows.map(normaliseEntry);
  }

  /** Entries just inserted by `tx` that have not moved yet. */
  async unmoved(tx: SqlTransaction, entryIds: readonly number[]): Promise<EntryRow[]> {
    const rows = await tx.select<EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM \`${this.tables.entries}\` WHERE EntryID IN (?) AND State = 'active' AND StepSeq = 0`,
      [entryIds],
    );
    return rows.map(normaliseEntry);
  }

  /**
   * The live entries of these subscribers, locked by primary key in id order,
   * and grouped by subscriber. `knownLiveIds`: their ids when the caller read
   * them already.
   */
  async lockLive(
    tx: SqlTransaction,
    subscribers: readonly Pick<EntryRow, 'ListID' | 'SubscriberID'>[],
    knownLiveIds?: number[],
  ): Promise<{ locked: Map<number, EntryRow>; liveOf: Map<string, EntryRow[]> }> {
    const liveIds: number[] = knownLiveIds ? [...knownLiveIds] : [];
    if (!knownLiveIds) {
      for (const [listId, subscriberIds] of byList(subscribers.map(refOf))) {
        // The live states rather than ActiveLock = 1 (the same rows): idx_subscriber then answers alone, no row lookups.
        const rows = await tx.select<{ EntryID: number }>(
          `SELECT EntryID FROM \`${this.tables.entries}\` WHERE ListID = ? AND SubscriberID IN (?) AND State IN ('active','waiting','failed')`,
          [listId, subscriberIds],
        );
        for (const row of rows) liveIds.push(Number(row.EntryID));
      }
    }
    const locked = new Map<number, EntryRow>();
    const liveOf = new Map<string, EntryRow[]>();
    if (liveIds.length === 0) return { locked, liveOf };
    const rows = await tx.select<EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM \`${this.tables.entries}\` WHERE EntryID IN (?) AND ActiveLock = 1 ORDER BY EntryID FOR UPDATE`,
      [liveIds.sort((a, b) => a - b)],
    );
    for (const raw of rows) {
      const row = normaliseEntry(raw);
      locked.set(row.EntryID, row);
      const key = subscriberKey(refOf(row));
      liveOf.set(key, [...(liveOf.get(key) ?? []), row]);
    }
    return { locked, liveOf };
  }

  /** Every entry (any journey, any state) of these subscribers: non-locking, a list at a time. */
  async entriesOfSubscribers(tx: SqlTransaction, refs: readonly SubscriberRef[]): Promise<KnownEntry[]> {
    const out: KnownEntry[] = [];
    for (const [listId, subscriberIds] of byList(refs)) {
      for (const part of chunk(subscriberIds, 1000)) {
        const rows = await tx.select<KnownEntry>(
          `SELECT EntryID, JourneyID, SubscriberID, State, ActiveLock FROM \`${this.tables.entries}\` WHERE ListID = ? AND SubscriberID IN (?)`,
          [listId, part],
        );
        for (const row of rows) {
          out.push({
            EntryID: Number(row.EntryID),
            JourneyID: Number(row.JourneyID),
            ListID: listId,
            SubscriberID: Number(row.SubscriberID),
            State: row.State,
            ActiveLock: row.ActiveLock === null ? null : Number(row.ActiveLock),
          });
        }
      }
    }
    return out;
  }

  /** How many entries each subscriber had in this journey and list, and whether one is live (admission's history). */
  historyOf(tx: SqlTransaction, journeyId: number, listId: number, subscriberIds: readonly number[]): Promise<PastEntries[]> {
    return tx.select<PastEntries>(
      `SELECT SubscriberID, COUNT(*) AS n, MAX(ActiveLock) AS live FROM \`${this.tables.entries}\`
        WHERE JourneyID = ? AND ListID = ? AND SubscriberID IN (?) GROUP BY SubscriberID`,
      [journeyId, listId, subscriberIds],
    );
  }

  /** Claims already made by these entries, as `entryId:actionId`. */
  async claimedSteps(tx: SqlTransaction, entryIds: readonly number[]): Promise<Set<string>> {
    const claimed = new Set<string>();
    if (entryIds.length === 0) return claimed;
    const rows = await tx.select<{ EntryID: number; ActionID: string }>(`SELECT EntryID, ActionID FROM \`${this.tables.log}\` WHERE EntryID IN (?)`, [
      entryIds,
    ]);
    for (const row of rows) claimed.add(`${row.EntryID}:${row.ActionID}`);
    return claimed;
  }

  /** The claim (log row status) of each entry at the action it stands at. */
  async claimsAt(tx: SqlTransaction, entries: readonly EntryRow[]): Promise<Map<number, { Status: string }>> {
    const out = new Map<number, { Status: string }>();
    if (entries.length === 0) return out;
    const rows = await tx.select<{ EntryID: number; ActionID: string; Status: string }>(
      `SELECT EntryID, ActionID, Status FROM \`${this.tables.log}\` WHERE EntryID IN (?)`,
      [entries.map((e) => e.EntryID)],
    );
    const at = new Map(entries.map((e) => [e.EntryID, e.CurrentActionID]));
    for (const row of rows) if (at.get(Number(row.EntryID)) === row.ActionID) out.set(Number(row.EntryID), { Status: row.Status });
    return out;
  }

  /**
   * The live entries of these subscribers that an open, click or conversion
   * may move now: entries waiting at a Wait for event, and every live entry
   * of an enabled journey with a goal.
   */
  async reactiveEntriesOf(refs: readonly SubscriberRef[], session: SqlSession = this.db): Promise<EntryRow[]> {
    if (refs.length === 0) return [];
    const rows = await session.select<EntryRow>(
      `SELECT ${peekColumns('e')} FROM \`${this.tables.entries}\` e
         JOIN \`${this.tables.journeys}\` j ON j.JourneyID = e.JourneyID AND j.Status = 'Enabled'
        WHERE (e.ListID, e.SubscriberID) IN (${refs.map(() => '(?, ?)').join(', ')}) AND e.State IN ('active','waiting')
          AND (e.WaitingSince IS NOT NULL OR j.Goal IS NOT NULL)
        ORDER BY e.EntryID`,
      refs.flatMap((r) => [r.listId, r.subscriberId]),
    );
    return rows.map(normaliseEntry);
  }

  /** Positions of live entries to queue (active now, waiting at their time). */
  positions(entryIds: readonly number[]): Promise<Position[]> {
    return this.db.select<Position>(
      `SELECT EntryID, StepSeq, State, WakeAt FROM \`${this.tables.entries}\` WHERE EntryID IN (?) AND ActiveLock = 1 AND State IN ('active','waiting')`,
      [entryIds],
    );
  }

  /** A page of a journey's entries to resume after Enable: active ones and waits due before `horizon`. */
  resumable(journeyId: number, afterEntryId: number, horizon: Date, limit: number): Promise<Position[]> {
    return this.db.select<Position>(
      `SELECT EntryID, StepSeq, State, WakeAt FROM \`${this.tables.entries}\`
        WHERE JourneyID = ? AND EntryID > ? AND ActiveLock = 1 AND (State = 'active' OR (State = 'waiting' AND WakeAt <= ?))
        ORDER BY EntryID LIMIT ${Number(limit)}`,
      [journeyId, afterEntryId, sqlDate(horizon)],
    );
  }

  /** A page of waits due before `horizon` in enabled journeys, in (WakeAt, EntryID) order after `cursor`. */
  dueWaits(horizon: Date, cursor: { at: Date | null; id: number }, limit: number): Promise<{ EntryID: number; StepSeq: number; WakeAt: Date }[]> {
    const at = cursor.at ? sqlDate(cursor.at) : '1000-01-01 00:00:00.000';
    return this.db.select(
      `SELECT e.EntryID, e.StepSeq, e.WakeAt FROM \`${this.tables.entries}\` e
         JOIN \`${this.tables.journeys}\` j ON j.JourneyID = e.JourneyID AND j.Status = 'Enabled'
        WHERE e.State = 'waiting' AND e.WakeAt <= ? AND (e.WakeAt > ? OR (e.WakeAt = ? AND e.EntryID > ?))
        ORDER BY e.WakeAt, e.EntryID LIMIT ${Number(limit)}`,
      [sqlDate(horizon), at, at, cursor.id],
    );
  }

  /** A page of active entries of enabled journeys untouched since `before` (their job was lost). */
  staleActive(before: Date, afterEntryId: number, limit: number): Promise<{ EntryID: number; StepSeq: number }[]> {
    return this.db.select(
      `SELECT e.EntryID, e.StepSeq FROM \`${this.tables.entries}\` e
         JOIN \`${this.tables.journeys}\` j ON j.JourneyID = e.JourneyID AND j.Status = 'Enabled'
        WHERE e.State = 'active' AND e.UpdatedAt < ? AND e.EntryID > ?
        ORDER BY e.EntryID LIMIT ${Number(limit)}`,
      [sqlDate(before), afterEntryId],
    );
  }

  /**
   * How many live entries stand at each action of a journey, ActionID null for
   * those not started yet (the edit-impact preview; index idx_journey_position).
   */
  livePositions(session: SqlSession, journeyId: number): Promise<{ ActionID: string | null; n: number }[]> {
    return session.select(
      `SELECT CurrentActionID AS ActionID, COUNT(*) AS n FROM \`${this.tables.entries}\`
        WHERE JourneyID = ? AND State IN ('active','waiting','failed') GROUP BY CurrentActionID`,
      [journeyId],
    );
  }

  // ── Enrolment ──────────────────────────────────────────────────────────

  /**
   * Inserts new entries of one journey and list (INSERT IGNORE: the live-entry
   * key refuses a second live entry). Entries with a decided position are
   * inserted there; rows that will have ended are inserted live first, so the
   * key judges every row, and released by `releaseEnded` once inserted.
   */
  insertEntries(tx: SqlTransaction, entries: readonly NewEntry[], now: Date): Promise<{ affectedRows: number; insertId: number }> {
    const nowSql = sqlDate(now);
    const wakeSqls = new Map<number, string>(); // an import's entries mostly share their wake time: format each once
    const wakeSql = (at: Date) => {
      let text = wakeSqls.get(at.getTime());
      if (text === undefined) wakeSqls.set(at.getTime(), (text = sqlDate(at)));
      return text;
    };
    const rows = entries.map((e) => {
      const head = [e.journeyId, e.ownerUserId, e.listId, e.subscriberId, e.entryNumber];
      const tail = [e.journeyVersion, e.chainId, e.chainDepth, e.triggerEvent, nowSql, nowSql];
      if (e.refusedReason) return [...head, 'exited', null, null, null, 0, null, e.refusedReason, null, ...tail, nowSql];
      const p = e.position;
      if (!p) return [...head, 'active', null, null, null, 0, 1, null, null, ...tail, null];
      return [
        ...head,
        p.state,
        p.currentActionId,
        p.wakeAt ? wakeSql(p.wakeAt) : null,
        p.waitingSince ? sqlDate(p.waitingSince) : null,
        p.newStepSeq,
        1,
        p.exitReason,
        p.lastError,
        ...tail,
        ended(p.state) ? nowSql : null,
      ];
    });
    return tx.execute(
      `INSERT IGNORE INTO \`${this.tables.entries}\`
         (JourneyID, RelOwnerUserID, ListID, SubscriberID, EntryNumber, State, CurrentActionID, WakeAt, WaitingSince, StepSeq, ActiveLock,
          ExitReason, LastError, JourneyVersion, ChainID, ChainDepth, TriggerEvent, CreatedAt, UpdatedAt, EndedAt)
       VALUES ?`,
      [rows],
    );
  }

  /** Entries inserted live that ended in their first step release the live-entry key. */
  async releaseEnded(tx: SqlTransaction, entryIds: readonly number[]): Promise<void> {
    if (entryIds.length > 0) await tx.execute(`UPDATE \`${this.tables.entries}\` SET ActiveLock = NULL WHERE EntryID IN (?)`, [entryIds]);
  }

  /** The live entry of each subscriber in this journey and list: id, step, chain and when it was created. */
  liveEntriesOf(
    tx: SqlTransaction,
    journeyId: number,
    listId: number,
    subscriberIds: readonly number[],
  ): Promise<{ EntryID: number; SubscriberID: number; StepSeq: number; State: string; ChainID: string; CreatedAt: Date }[]> {
    return tx.select(
      `SELECT EntryID, SubscriberID, StepSeq, State, ChainID, CreatedAt FROM \`${this.tables.entries}\`
        WHERE JourneyID = ? AND ListID = ? AND SubscriberID IN (?) AND ActiveLock = 1`,
      [journeyId, listId, subscriberIds],
    );
  }

  /**
   * The auto-increment step when one multi-row INSERT gets consecutive ids
   * (lock mode 0 "traditional" or 1 "consecutive", MariaDB's default), null
   * otherwise (mode 2, MySQL 8's default, interleaves concurrent inserts).
   * Read once per process; `assumeInterleavedIds()` lets tests take the other path.
   */
  consecutiveIdStep(): Promise<number | null> {
    this.idStep ??= this.db
      .select<{ mode: number | string | null; step: number | string | null }>('SELECT @@innodb_autoinc_lock_mode AS mode, @@auto_increment_increment AS step')
      .then(
        ([row]) => (row && row.mode !== null && Number(row.mode) <= 1 && Number(row.step) >= 1 ? Number(row.step) : null),
        () => null,
      );
    return this.idStep;
  }

  assumeInterleavedIds(interleaved: boolean): void {
    this.idStep = interleaved ? Promise.resolve(null) : null;
  }

  // ── A step's writes ────────────────────────────────────────────────────

  async insertLogs(tx: SqlTransaction, logs: readonly LogRow[], now: Date): Promise<void> {
    if (logs.length === 0) return;
    const nowSql = sqlDate(now);
    await tx.execute(
      `INSERT INTO \`${this.tables.log}\` (EntryID, JourneyID, ActionID, ActionType, Status, Result, Detail, LeaseUntil, LeaseOwner, Attempts, CreatedAt, CompletedAt) VALUES ?`,
      [
        logs.map((l) => [
          l.entryId,
          l.journeyId,
          l.actionId,
          l.type,
          l.status,
          l.result?.slice(0, 64) ?? null,
          l.detail,
          l.leaseUntil ? sqlDate(l.leaseUntil) : null,
          l.leaseUntil ? (l.leaseOwner ?? null) : null,
          l.attempts ?? 0,
          nowSql,
          l.status === 'pending' ? null : nowSql,
        ]),
      ],
    );
  }

  /** Entries' new positions, grouped by identical values: a handful of UPDATE statements per batch. */
  async writePositions(tx: SqlTransaction, positions: ReadonlyMap<number, FinalPosition>, now: Date): Promise<void> {
    const nowSql = sqlDate(now);
    const groups = new Map<string, { final: FinalPosition; ids: number[] }>();
    for (const [entryId, final] of positions) {
      const key = JSON.stringify([
        final.state,
        final.currentActionId,
        final.wakeAt?.getTime() ?? null,
        final.waitingSince?.getTime() ?? null,
        final.exitReason,
        final.lastError,
      ]);
      const group = groups.get(key) ?? { final, ids: [] };
      group.ids.push(entryId);
      groups.set(key, group);
    }
    for (const { final, ids } of groups.values()) {
      const isEnded = ended(final.state);
      await tx.execute(
        `UPDATE \`${this.tables.entries}\`
            SET State = ?, CurrentActionID = COALESCE(?, CurrentActionID), WakeAt = ?, WaitingSince = ?, ExitReason = ?, LastError = ?,
                ActiveLock = ${isEnded ? 'NULL' : '1'}, EndedAt = ${isEnded ? '?' : 'NULL'}, Attempts = 0, StepSeq = StepSeq + 1, UpdatedAt = ?
          WHERE EntryID IN (?)`,
        [
          final.state,
          final.currentActionId,
          final.wakeAt ? sqlDate(final.wakeAt) : null,
          final.waitingSince ? sqlDate(final.waitingSince) : null,
          final.exitReason,
          final.lastError,
          ...(isEnded ? [nowSql] : []),
          nowSql,
          ids,
        ],
      );
    }
  }

  // ── Exits, retry and skip ──────────────────────────────────────────────

  /**
   * Ends a journey's live entries (all, or those of some subscribers or at
   * some actions) with a reason; found first, then updated by primary key in
   * id order. Returns how many ended.
   */
  async exit(filter: ExitFilter, reason: string, now: Date, session: SqlSession = this.db): Promise<number> {
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
      const rows = await session.select<{ EntryID: number }>(`SELECT EntryID FROM \`${this.tables.entries}\` WHERE ${conditions.join(' AND ')}${extra}`, [
        ...params,
        ...(refs ?? []).flatMap((r) => [r.listId, r.subscriberId]),
      ]);
      for (const row of rows) ids.push(Number(row.EntryID));
    }
    const nowSql = sqlDate(now);
    let count = 0;
    for (const part of chunk(
      ids.sort((a, b) => a - b),
      1000,
    )) {
      const { affectedRows } = await session.execute(
        `UPDATE \`${this.tables.entries}\`
            SET State = 'exited', ActiveLock = NULL, WakeAt = NULL, ExitReason = ?, EndedAt = ?, UpdatedAt = ?, StepSeq = StepSeq + 1
          WHERE EntryID IN (?) AND ActiveLock = 1`,
        [reason.slice(0, 255), nowSql, nowSql, part],
      );
      count += affectedRows;
    }
    return count;
  }

  /** A journey's entries, their log and webhook deliveries go with it (the journey row is deleted by the caller, in `session`). */
  async deleteJourneyEntries(session: SqlSession, journeyId: number): Promise<void> {
    await session.execute(
      `DELETE d FROM \`${this.tables.webhookDeliveries}\` d JOIN \`${this.tables.entries}\` e ON e.EntryID = d.EntryID WHERE e.JourneyID = ?`,
      [journeyId],
    );
    await session.execute(`DELETE FROM \`${this.tables.log}\` WHERE JourneyID = ?`, [journeyId]);
    await session.execute(`DELETE FROM \`${this.tables.entries}\` WHERE JourneyID = ?`, [journeyId]);
  }

  async lockEntry(tx: SqlTransaction, entryId: number): Promise<LockedEntry | undefined> {
    const [row] = await tx.select<LockedEntry>(
      `SELECT EntryID, JourneyID, RelOwnerUserID, CurrentActionID, StepSeq, State, LastError FROM \`${this.tables.entries}\` WHERE EntryID = ? FOR UPDATE`,
      [entryId],
    );
    return row;
  }

  /** An entry retrying an external action tries again now: the claim's backoff is lifted and the entry is due. */
  async retryNow(tx: SqlTransaction, entryId: number, actionId: string, now: Date): Promise<void> {
    const nowSql = sqlDate(now);
    await tx.execute(`UPDATE \`${this.tables.log}\` SET NotBefore = NULL WHERE EntryID = ? AND ActionID = ? AND Status = 'pending'`, [entryId, actionId]);
    await tx.execute(`UPDATE \`${this.tables.entries}\` SET WakeAt = ?, StepSeq = StepSeq + 1, UpdatedAt = ? WHERE EntryID = ?`, [nowSql, nowSql, entryId]);
  }

  /**
   * A failed entry goes on: its claim at `actionId` is marked skipped, opened
   * again (an external action runs again), or dropped (an instant action runs
   * again when the entry resumes before it); the entry is active at `resumeAt`.
   */
  async unpark(
    tx: SqlTransaction,
    entryId: number,
    actionId: string | null,
    claim: 'skip' | 'reopen' | 'drop',
    resumeAt: string | null,
    now: Date,
  ): Promise<void> {
    const nowSql = sqlDate(now);
    if (actionId) {
      switch (claim) {
        case 'skip':
          await tx.execute(
            `UPDATE \`${this.tables.log}\` SET Status = 'skipped', LeaseUntil = NULL, LeaseOwner = NULL, CompletedAt = ? WHERE EntryID = ? AND ActionID = ?`,
            [nowSql, entryId, actionId],
          );
          break;
        case 'reopen':
          // A user's retry starts the attempts afresh.
          await tx.execute(
            `UPDATE \`${this.tables.log}\` SET Status = 'pending', LeaseUntil = NULL, LeaseOwner = NULL, NotBefore = NULL, Attempts = 0, CompletedAt = NULL WHERE EntryID = ? AND ActionID = ?`,
            [entryId, actionId],
          );
          break;
        case 'drop':
          await tx.execute(`DELETE FROM \`${this.tables.log}\` WHERE EntryID = ? AND ActionID = ? AND Status = 'failed'`, [entryId, actionId]);
          break;
      }
    }
    await tx.execute(
      `UPDATE \`${this.tables.entries}\` SET State = 'active', CurrentActionID = ?, WakeAt = NULL, WaitingSince = NULL, LastError = NULL, Attempts = 0, StepSeq = StepSeq + 1, UpdatedAt = ? WHERE EntryID = ?`,
      [resumeAt, nowSql, entryId],
    );
  }

  // ── External actions ───────────────────────────────────────────────────
  //
  // An external action's claim is its pending log row. Taking the lease starts
  // an attempt: one statement checks, for a whole batch, that nobody holds the
  // lease and that the backoff (NotBefore) has passed, counts the attempt and
  // marks the rows with the taker's token; the rows carrying the token are
  // read back. Outcomes are written only for the current attempt
  // (Attempts = attempt), so a late outcome of an attempt that lost its
  // lease changes nothing.

  /**
   * Starts an attempt at each of these pending external actions that is free
   * and due: returns the attempt number of each one taken (`entryId:actionId`
   * → 1 for the first), leaving out those another worker holds or whose next
   * attempt is not due yet. `owner`: a token unique to this taker.
   */
  async takeLeases(session: SqlSession, claims: readonly ClaimRef[], owner: string, now: Date, leaseUntil: Date): Promise<Map<string, number>> {
    const taken = new Map<string, number>();
    if (claims.length === 0) return taken;
    const nowSql = sqlDate(now);
    const keys = claims.map((c) => [c.entryId, c.actionId]);
    const where = `(EntryID, ActionID) IN (${keys.map(() => '(?, ?)').join(', ')})`;
    await session.execute(
      `UPDATE \`${this.tables.log}\` SET LeaseUntil = ?, LeaseOwner = ?, Attempts = Attempts + 1
        WHERE ${where} AND Status = 'pending' AND (LeaseUntil IS NULL OR LeaseUntil < ?) AND (NotBefore IS NULL OR NotBefore <= ?)`,
      [sqlDate(leaseUntil), owner, ...keys.flat(), nowSql, nowSql],
    );
    const rows = await session.select<{ EntryID: number; ActionID: string; Attempts: number }>(
      `SELECT EntryID, ActionID, Attempts FROM \`${this.tables.log}\` WHERE ${where} AND LeaseOwner = ? AND Status = 'pending'`,
      [...keys.flat(), owner],
    );
    for (const row of rows) taken.set(claimKeyOf(Number(row.EntryID), row.ActionID), Number(row.Attempts));
    return taken;
  }

  /**
   * Finished attempts (done, or skipped with a reason: the entry goes on
   * either way); an outcome whose attempt is no longer current (its lease
   * passed to another) changes nothing.
   */
  async recordDone(outcomes: readonly (ClaimRef & { attempt: number; result: string; skipped?: string })[], now: Date): Promise<void> {
    if (outcomes.length === 0) return;
    const rows = outcomes
      .map((o, i) => (i === 0 ? 'SELECT ? AS EntryID, ? AS ActionID, ? AS Attempts, ? AS Status, ? AS Result, ? AS Detail' : 'SELECT ?, ?, ?, ?, ?, ?'))
      .join(' UNION ALL ');
    await this.db.execute(
      `UPDATE \`${this.tables.log}\` l JOIN (${rows}) v ON l.EntryID = v.EntryID AND l.ActionID = v.ActionID AND l.Attempts = v.Attempts
          SET l.Status = v.Status, l.Result = v.Result, l.Detail = v.Detail, l.LeaseUntil = NULL, l.LeaseOwner = NULL, l.NotBefore = NULL, l.CompletedAt = ?
        WHERE l.Status = 'pending'`,
      [...outcomes.flatMap((o) => [o.entryId, o.actionId, o.attempt, o.skipped ? 'skipped' : 'done', o.result.slice(0, 64), o.skipped ?? null]), sqlDate(now)],
    );
  }

  /** Attempt `attempt` found the action cannot be done for this subscriber, and the entry leaves the journey with the reason. */
  async recordExit(entry: EntryRow, actionId: string, attempt: number, reason: string, now: Date): Promise<boolean> {
    const nowSql = sqlDate(now);
    return this.db.transaction(async (tx) => {
      const claim = await tx.execute(
        `UPDATE \`${this.tables.log}\` SET Status = 'skipped', Detail = ?, LeaseUntil = NULL, LeaseOwner = NULL, NotBefore = NULL, CompletedAt = ?
          WHERE EntryID = ? AND ActionID = ? AND Status = 'pending' AND Attempts = ?`,
        [reason, nowSql, entry.EntryID, actionId, attempt],
      );
      if (claim.affectedRows !== 1) return false;
      await tx.execute(
        `UPDATE \`${this.tables.entries}\` SET State = 'exited', ActiveLock = NULL, WakeAt = NULL, ExitReason = ?, EndedAt = ?, StepSeq = StepSeq + 1, UpdatedAt = ?
          WHERE EntryID = ? AND CurrentActionID = ? AND ActiveLock = 1`,
        [reason.slice(0, 255), nowSql, nowSql, entry.EntryID, actionId],
      );
      return true;
    });
  }

  /**
   * Attempt `attempt` failed and the next may start at `retryAt`: the claim
   * says so (NotBefore) and the entry waits there, showing the error. False
   * when it was not the current attempt or the entry moved on meanwhile.
   */
  async recordRetry(entry: EntryRow, actionId: string, attempt: number, error: string, retryAt: Date, now: Date): Promise<boolean> {
    const nowSql = sqlDate(now);
    return this.db.transaction(async (tx) => {
      const claim = await tx.execute(
        `UPDATE \`${this.tables.log}\` SET LeaseUntil = NULL, LeaseOwner = NULL, NotBefore = ?, Detail = ?
          WHERE EntryID = ? AND ActionID = ? AND Status = 'pending' AND Attempts = ?`,
        [sqlDate(retryAt), `attempt ${attempt}: ${error}`, entry.EntryID, actionId, attempt],
      );
      if (claim.affectedRows !== 1) return false;
      const moved = await tx.execute(
        `UPDATE \`${this.tables.entries}\` SET State = 'waiting', WakeAt = ?, Attempts = ?, LastError = ?, StepSeq = StepSeq + 1, UpdatedAt = ?
          WHERE EntryID = ? AND CurrentActionID = ? AND ActiveLock = 1`,
        [sqlDate(retryAt), attempt, `attempt ${attempt} failed: ${error}`, nowSql, entry.EntryID, actionId],
      );
      return moved.affectedRows === 1;
    });
  }

  /** Attempt `attempt` failed for good: the claim and the entry are failed. False when it was not the current attempt. */
  async recordFailed(entry: EntryRow, actionId: string, attempt: number, error: string, now: Date): Promise<boolean> {
    const nowSql = sqlDate(now);
    return this.db.transaction(async (tx) => {
      const claim = await tx.execute(
        `UPDATE \`${this.tables.log}\` SET Status = 'failed', Detail = ?, LeaseUntil = NULL, LeaseOwner = NULL, NotBefore = NULL, CompletedAt = ?
          WHERE EntryID = ? AND ActionID = ? AND Status = 'pending' AND Attempts = ?`,
        [error, nowSql, entry.EntryID, actionId, attempt],
      );
      if (claim.affectedRows !== 1) return false;
      await tx.execute(
        `UPDATE \`${this.tables.entries}\` SET State = 'failed', WakeAt = NULL, Attempts = ?, LastError = ?, StepSeq = StepSeq + 1, UpdatedAt = ?
          WHERE EntryID = ? AND CurrentActionID = ? AND ActiveLock = 1`,
        [attempt, error, nowSql, entry.EntryID, actionId],
      );
      return true;
    });
  }
}

/** A claim: the log row of one entry's action. */
export interface ClaimRef {
  entryId: number;
  actionId: string;
}

export function claimKeyOf(entryId: number, actionId: string): string {
  return `${entryId}:${actionId}`;
}

function byList(refs: readonly SubscriberRef[]): Map<number, number[]> {
  const out = new Map<number, Set<number>>();
  for (const ref of refs) {
    const set = out.get(ref.listId) ?? new Set<number>();
    set.add(ref.subscriberId);
    out.set(ref.listId, set);
  }
  return new Map([...out].map(([listId, ids]) => [listId, [...ids]]));
}
