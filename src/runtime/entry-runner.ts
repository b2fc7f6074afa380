/**
 * Runs a batch of entries one step: load, decide (the pure engine), claim and
 * apply in one MySQL transaction, then queue what comes next.
 *
 * 1. An unlocked look at the batch: entries of disabled journeys stay frozen,
 *    waits not yet due are handed back to the queue for their time.
 * 2. One READ COMMITTED transaction: every live entry of the batch's
 *    subscribers is locked by primary key in id order (the only way the
 *    runtime takes entry locks, so transactions never deadlock on each other),
 *    then re-read under the lock; only then are the subscribers' facts read and
 *    `advance()` called. One subscriber's entries are thus never moved by two
 *    workers at once, and a merge tag sees what another journey just wrote.
 * 3. The execution log rows are the claims: a step whose log row exists is not
 *    applied again. Local effects (custom field writes through the host in this
 *    transaction, Start Journey enrolments, exits of other entries) and the
 *    entries' new positions commit together.
 * 4. External actions are claimed (log row `pending` with a lease) and carried
 *    out after commit by ExternalActions.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Transaction, type Sequelize } from 'sequelize';
import { CLOCK, SEQUELIZE, TABLES, type Clock } from '../core/tokens';
import type { PluginTables } from '../database/tables';
import { findAction } from '../engine/action-tree';
import { requiredActivity } from '../engine/conditions';
import type { Action, SubscribeAction, UnsubscribeAction, WebhookAction } from '../engine/journey.types';
import { advance } from '../engine/step';
import type { EntryState, LocalEffect, StepResult, StepStart } from '../engine/step.types';
import { HOST_PORTS, type HostPorts, type HostSubscriber } from '../host/host.ports';
import {
  EnrolmentService,
  FreshEnrolmentRace,
  historyKey,
  type AdmittedEntry,
  type AdmittedGroup,
  type EnrolRequest,
  type EnrolResult,
  type EntryHistory,
  type FirstStepFollowUps,
} from './enrolment.service';
import { EntryQueue, type TimedEntryStep } from './entry-queue.service';
import { batchFieldWriter, lastWrites, type CustomFieldWrite } from './host-batch';
import { HostFacts, subscriberKey, type OwnerFacts } from './host-facts';
import { JourneyStore, type RuntimeJourney } from './journey-store';
import { chunk, type EntryStep } from './queues';
import { RuntimeMetrics } from './runtime.metrics';
import { EXTERNAL_LEASE_MS } from './runtime.limits';
import { execute, isTransientDbError, select, sqlDate } from './sql';

export type ExternalAction = SubscribeAction | UnsubscribeAction | WebhookAction;

export interface EntryRow {
  EntryID: number;
  JourneyID: number;
  RelOwnerUserID: number;
  ListID: number;
  SubscriberID: number;
  State: EntryState;
  CurrentActionID: string | null;
  WakeAt: Date | null;
  StepSeq: number;
  ChainID: string;
  ChainDepth: number;
  TriggerEvent: string | null;
  Attempts: number;
}

/** An external action to carry out after the step committed. */
export interface PendingExternal {
  entry: EntryRow;
  journey: RuntimeJourney;
  action: ExternalAction;
  subscriber: HostSubscriber;
  /** True when this worker holds the lease on the log row already (it claimed it just now). */
  leased: boolean;
}

export const ENTRY_COLUMNS =
  'EntryID, JourneyID, RelOwnerUserID, ListID, SubscriberID, State, CurrentActionID, WakeAt, StepSeq, ChainID, ChainDepth, TriggerEvent, Attempts';

const EXTERNAL_TYPES = new Set<Action['type']>(['subscribe', 'unsubscribe', 'webhook']);

export function isExternal(action: Action | undefined): action is ExternalAction {
  return !!action && EXTERNAL_TYPES.has(action.type);
}

/** What the read phase decided for one entry. */
interface Plan {
  entry: EntryRow;
  journey: RuntimeJourney;
  subscriber: HostSubscriber | null;
  result: StepResult;
}

interface PendingFieldWrite extends CustomFieldWrite {
  ownerUserId: number;
  listId: number;
}

interface FinalPosition {
  state: EntryState;
  currentActionId: string | null;
  wakeAt: Date | null;
  exitReason: string | null;
  lastError: string | null;
  newStepSeq: number;
}

interface LogRow {
  entryId: number;
  journeyId: number;
  actionId: string;
  type: string;
  status: 'pending' | 'done' | 'failed' | 'skipped';
  result: string | null;
  detail: string | null;
  leaseUntil: Date | null;
}

/** What a batch of planned steps writes. */
interface Decision {
  finals: Map<number, FinalPosition>;
  exitedByEffect: Set<number>;
  logs: LogRow[];
  enrolRequests: EnrolRequest[];
  fieldWrites: PendingFieldWrite[];
  externalOf: Map<number, Plan & { action: ExternalAction }>;
  runCounts: Map<string, number>;
  failCounts: Map<string, number>;
}

interface LockedStepResult {
  moved: number;
  externals: PendingExternal[];
  wakes: TimedEntryStep[];
  enrolled: EntryStep[];
  /** Entries to run again in a job (inline steps hand their external actions to a worker this way). */
  requeue: EntryStep[];
}

export type { FirstStepFollowUps };

export interface StepReport {
  /** Entries that moved in this step. */
  moved: number;
  externals: PendingExternal[];
}

function ended(state: EntryState): boolean {
  return state === 'completed' || state === 'exited';
}

/** The states of a live entry (ActiveLock 1). */
function isLive(state: EntryState): boolean {
  return state === 'active' || state === 'waiting' || state === 'failed';
}

@Injectable()
export class EntryRunner {
  constructor(
    @Inject(SEQUELIZE) private readonly sequelize: Sequelize,
    @Inject(TABLES) private readonly tables: PluginTables,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(HOST_PORTS) private readonly host: HostPorts,
    private readonly journeys: JourneyStore,
    private readonly facts: HostFacts,
    private readonly enrolment: EnrolmentService,
    private readonly queue: EntryQueue,
    private readonly metrics: RuntimeMetrics,
  ) {
    enrolment.useFirstStepRunner(this);
  }

  /** One step for each runnable entry among `entryIds`. */
  async step(entryIds: readonly number[]): Promise<StepReport> {
    const ids = [...new Set(entryIds)];
    if (ids.length === 0) return { moved: 0, externals: [] };
    const now = this.clock.now();
    // Unlocked look: which entries might run, and whose subscribers to lock.
    const seen = (
      await select<EntryRow>(
        this.sequelize,
        `SELECT EntryID, JourneyID, RelOwnerUserID, ListID, SubscriberID, State, CurrentActionID, WakeAt, StepSeq, ChainID, ChainDepth, NULL AS TriggerEvent, Attempts FROM \`${this.tables.entries}\` WHERE EntryID IN (?) AND ActiveLock = 1 AND State IN ('active','waiting')`,
        [ids],
      )
    ).map(normaliseEntry);
    if (seen.length === 0) return { moved: 0, externals: [] };
    const journeys = await this.journeys.load(seen.map((e) => e.JourneyID));
    const notDue: TimedEntryStep[] = [];
    const candidates = seen.filter((entry) => {
      const journey = journeys.get(entry.JourneyID);
      if (journey && !journey.enabled) return false; // a disabled journey freezes its entries: leave them exactly where they are
      if (entry.State === 'waiting' && entry.WakeAt && entry.WakeAt.getTime() > now.getTime()) {
        notDue.push({ entryId: entry.EntryID, stepSeq: entry.StepSeq, wakeAt: entry.WakeAt });
        return false;
      }
      return true;
    });
    await this.queue.runAt(notDue);
    if (candidates.length === 0) return { moved: 0, externals: [] };

    const committed = await this.sequelize.transaction({ isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED }, (tx) =>
      this.stepLocked(candidates, journeys, now, tx),
    );
    await this.queue.runAt(committed.wakes);
    await this.queue.runNow([...committed.enrolled, ...committed.requeue]);
    return { moved: committed.moved, externals: committed.externals };
  }

  /**
   * The step under lock: every live entry of these subscribers is locked first,
   * then the subscribers' facts are read. A worker that moves any entry of a
   * subscriber holds these locks, so the facts cannot change under this step
   * (a merge tag reading a field another journey just wrote sees the write).
   * `inline`: called inside an enrolment transaction (no lease on claims).
   */
  private async stepLocked(
    candidates: EntryRow[],
    journeys: Map<number, RuntimeJourney>,
    now: Date,
    tx: Transaction,
    inline = false,
  ): Promise<LockedStepResult> {
    const nowSql = sqlDate(now);
    const { locked, liveOf } = await this.lockLive(candidates, tx);
    // The entries as they are now, under lock: still live, still runnable.
    const runnable = candidates
      .map((c) => locked.get(c.EntryID))
      .filter((e): e is EntryRow => !!e && (e.State === 'active' || (e.State === 'waiting' && (!e.WakeAt || e.WakeAt.getTime() <= now.getTime()))))
      .sort((a, b) => a.EntryID - b.EntryID);
    if (runnable.length === 0) return { moved: 0, externals: [], wakes: [], enrolled: [], requeue: [] };

    const atExternal = runnable.filter((entry) => {
      const journey = journeys.get(entry.JourneyID);
      return journey && entry.CurrentActionID && isExternal(findAction(journey.definition.actions, entry.CurrentActionID));
    });
    const claims = await this.claimsAt(atExternal, tx);
    const targets = new Map<number, RuntimeJourney | undefined>();
    const { current, resumeExternals } = await this.plan(runnable, journeys, claims, now, targets, tx);
    if (current.length === 0) return { moved: 0, externals: resumeExternals, wakes: [], enrolled: [], requeue: [] };

    // The claims already made. Log rows are written only together with a StepSeq bump (or for the
    // entry's current external action), so an entry that never moved (StepSeq 0) has none: a list
    // import's fresh entries skip this read.
    const claimed = new Set<string>();
    const moved = current.filter((p) => p.entry.StepSeq > 0).map((p) => p.entry.EntryID);
    if (moved.length > 0) {
      const existing = await select<{ EntryID: number; ActionID: string }>(
        this.sequelize,
        `SELECT EntryID, ActionID FROM \`${this.tables.log}\` WHERE EntryID IN (?) AND Visit = 1`,
        [moved],
        tx,
      );
      for (const row of existing) claimed.add(`${row.EntryID}:${row.ActionID}`);
    }

    const decision = await this.decide(current, claimed, liveOf, targets, inline ? null : new Date(now.getTime() + EXTERNAL_LEASE_MS));
    const { finals, externalOf } = decision;
    await this.writeFields(decision.fieldWrites, tx);
    await this.insertLogs(decision.logs, nowSql, tx);
    await this.writeFinals(finals, nowSql, tx);
    const enrolled = await this.enrolment.enrol(decision.enrolRequests, tx);
    await this.touchJourneys(
      current.map((p) => p.journey.definition.journeyId),
      nowSql,
      tx,
    );
    this.countActions(decision);

    const wakes: TimedEntryStep[] = [];
    const externals: PendingExternal[] = [];
    const requeue: EntryStep[] = [];
    for (const plan of current) {
      const final = finals.get(plan.entry.EntryID);
      if (!final) continue;
      if (final.state === 'waiting' && final.wakeAt) wakes.push({ entryId: plan.entry.EntryID, stepSeq: final.newStepSeq, wakeAt: final.wakeAt });
      const external = externalOf.get(plan.entry.EntryID);
      if (external && final.state === 'active' && inline) requeue.push({ entryId: plan.entry.EntryID, stepSeq: final.newStepSeq });
      else if (external && final.state === 'active') {
        externals.push({
          entry: { ...plan.entry, State: 'active', CurrentActionID: external.action.id, StepSeq: final.newStepSeq, WakeAt: null },
          journey: plan.journey,
          action: external.action,
          subscriber: plan.subscriber!,
          leased: true,
        });
      }
    }
    return { moved: current.length, externals: [...externals, ...resumeExternals], wakes, enrolled: enrolled.entries, requeue };
  }

  /**
   * A list import's new entries, inserted where their first step leaves them
   * (at a Wait, ended, failed, or active at a claimed external action), with
   * that step's log rows and field writes, all in `tx` (the enrolment
   * transaction, inside a savepoint). No insert-then-update, no re-reads.
   *
   * 1. Admission as for any enrolment (live entry, "once", loop bound).
   * 2. The live entries these subscribers already have (in other journeys,
   *    where a worker may be moving them) are locked in id order before their
   *    facts are read, as every step does. The new rows need no lock: no other
   *    transaction can see them before this one commits, and they get ids above
   *    every locked one, so the id order of locks still holds.
   * 3. advance() for each new entry (placeholder ids stand in for the real
   *    ones), effects checked and decided exactly as in a step.
   * 4. One INSERT per journey and list with the final positions. Rows that will
   *    have ended are inserted live first (ActiveLock 1), so the live-entry key
   *    judges every row; should it refuse any (another transaction committed a
   *    live entry after admission read), FreshEnrolmentRace rolls the savepoint
   *    back before a single effect was written and the caller enrols the
   *    classic way. Then field writes, log rows, exits of other entries, Start
   *    Journey enrolments.
   * External actions are claimed as pending log rows (no lease) and their
   * entries come back in `followUps.runNow` for a worker.
   */
  async enrolFresh(requests: readonly EnrolRequest[], tx: Transaction): Promise<EnrolResult & { followUps: FirstStepFollowUps }> {
    const now = this.clock.now();
    const nowSql = sqlDate(now);
    const result: EnrolResult & { followUps: FirstStepFollowUps } = {
      enrolled: 0,
      refused: 0,
      entries: [],
      byEvent: new Map(),
      followUps: { wakes: [], runNow: [] },
    };
    // One read of every entry these subscribers have in their lists: admission's history, and the live entries to lock.
    const known = await this.entriesOfSubscribers(
      requests.map((r) => r.ref),
      tx,
    );
    const history: EntryHistory = new Map();
    for (const row of known) {
      const key = historyKey(row.JourneyID, row.ListID, row.SubscriberID);
      const h = history.get(key) ?? { n: 0, live: null };
      h.n += 1;
      if (row.ActiveLock) h.live = 1;
      history.set(key, h);
    }
    const groups = await this.enrolment.admit(requests, tx, history);
    if (groups.length === 0) return result;

    // Placeholder rows with negative ids, in insert order, stand for the new entries until they are inserted.
    const fresh: { group: AdmittedGroup; admitted: AdmittedEntry; entry: EntryRow }[] = [];
    for (const group of groups) {
      const journey = group.journey.definition;
      for (const admitted of group.entries) {
        const { ref, chainId, chainDepth, triggerEvent } = admitted.request;
        fresh.push({
          group,
          admitted,
          entry: {
            EntryID: -(fresh.length + 1),
            JourneyID: journey.journeyId,
            RelOwnerUserID: journey.ownerUserId,
            ListID: group.listId,
            SubscriberID: ref.subscriberId,
            State: 'active',
            CurrentActionID: null,
            WakeAt: null,
            StepSeq: 0,
            ChainID: chainId,
            ChainDepth: chainDepth,
            TriggerEvent: triggerEvent,
            Attempts: 0,
          },
        });
      }
    }
    const runnable = fresh.filter((f) => !f.admitted.refusedReason).map((f) => f.entry);
    const stepping = new Set(runnable.map((e) => subscriberKey(refOf(e))));
    const liveIds = known.filter((row) => isLive(row.State) && stepping.has(subscriberKey(refOf(row)))).map((row) => row.EntryID);
    const { liveOf } = await this.lockLive(runnable, tx, liveIds);
    for (const entry of runnable) {
      const key = subscriberKey(refOf(entry));
      liveOf.set(key, [...(liveOf.get(key) ?? []), entry]);
    }
    const journeys = new Map(groups.map((g) => [g.journey.definition.journeyId, g.journey]));
    const targets = new Map<number, RuntimeJourney | undefined>();
    const { current } = await this.plan(runnable, journeys, new Map(), now, targets, tx);
    const decision = await this.decide(current, new Set(), liveOf, targets, null);
    const { finals } = decision;

    // The rows, one INSERT per admitted group (at most ROWS_PER_INSERT each).
    // Entries of an import mostly share their wake time: format each distinct one once.
    const wakeSqls = new Map<number, string>();
    const wakeSql = (at: Date) => {
      let text = wakeSqls.get(at.getTime());
      if (text === undefined) wakeSqls.set(at.getTime(), (text = sqlDate(at)));
      return text;
    };
    const realId = new Map<number, number>();
    const endedIds: number[] = [];
    const refusedBy = new Map<number, number>();
    for (const group of groups) {
      const journey = group.journey.definition;
      const part = fresh.filter((f) => f.group === group);
      const rows = part.map(({ admitted, entry }) => {
        const head = [journey.journeyId, journey.ownerUserId, group.listId, entry.SubscriberID, admitted.entryNumber];
        const tail = [journey.version, entry.ChainID, entry.ChainDepth, entry.TriggerEvent, nowSql, nowSql];
        if (admitted.refusedReason) return [...head, 'exited', null, null, 0, null, admitted.refusedReason, null, ...tail, nowSql];
        const final = finals.get(entry.EntryID)!;
        const isEnded = ended(final.state);
        // Live at insert even when it ends in this step: the live-entry key must see every row.
        return [
          ...head,
          final.state,
          final.currentActionId,
          final.wakeAt ? wakeSql(final.wakeAt) : null,
          final.newStepSeq,
          1,
          final.exitReason,
          final.lastError,
          ...tail,
          isEnded ? nowSql : null,
        ];
      });
      const { affectedRows, insertId } = await execute(
        this.sequelize,
        `INSERT IGNORE INTO \`${this.tables.entries}\`
           (JourneyID, RelOwnerUserID, ListID, SubscriberID, EntryNumber, State, CurrentActionID, WakeAt, StepSeq, ActiveLock,
            ExitReason, LastError, JourneyVersion, ChainID, ChainDepth, TriggerEvent, CreatedAt, UpdatedAt, EndedAt)
         VALUES ?`,
        [rows],
        tx,
      );
      if (affectedRows !== rows.length) throw new FreshEnrolmentRace(rows.length, affectedRows);
      const ids = await this.insertedIds(insertId, part, tx);
      part.forEach((f, i) => {
        if (f.admitted.refusedReason) {
          refusedBy.set(journey.journeyId, (refusedBy.get(journey.journeyId) ?? 0) + 1);
          return;
        }
        const id = ids[i];
        realId.set(f.entry.EntryID, id);
        const final = finals.get(f.entry.EntryID)!;
        if (ended(final.state)) endedIds.push(id);
        result.entries.push({ entryId: id, stepSeq: final.newStepSeq });
        const eventId = f.admitted.request.eventId;
        if (eventId) result.byEvent.set(eventId, (result.byEvent.get(eventId) ?? 0) + 1);
      });
    }
    if (endedIds.length > 0) {
      await execute(this.sequelize, `UPDATE \`${this.tables.entries}\` SET ActiveLock = NULL WHERE EntryID IN (?)`, [endedIds], tx);
    }

    // The step's effects, as in any step.
    const idOf = (id: number) => (id < 0 ? realId.get(id)! : id);
    await this.writeFields(decision.fieldWrites, tx);
    for (const log of decision.logs) log.entryId = idOf(log.entryId);
    await this.insertLogs(decision.logs, nowSql, tx);
    const others = new Map([...finals].filter(([id]) => id > 0)); // live entries of other journeys ended by an exit effect
    await this.writeFinals(others, nowSql, tx);
    const started = await this.enrolment.enrol(decision.enrolRequests, tx);
    await this.touchJourneys(
      groups.map((g) => g.journey.definition.journeyId),
      nowSql,
      tx,
    );

    this.countActions(decision);
    for (const [journeyId, n] of refusedBy) this.enrolment.noteRefused(journeyId, n);
    result.refused = [...refusedBy.values()].reduce((a, b) => a + b, 0);
    result.enrolled = result.entries.length;
    this.metrics.enrolled.inc(result.enrolled);
    for (const plan of current) {
      const final = finals.get(plan.entry.EntryID);
      const entryId = realId.get(plan.entry.EntryID);
      if (!final || entryId === undefined) continue;
      if (final.state === 'waiting' && final.wakeAt) result.followUps.wakes.push({ entryId, stepSeq: final.newStepSeq, wakeAt: final.wakeAt });
      if (decision.externalOf.has(plan.entry.EntryID) && final.state === 'active') result.followUps.runNow.push({ entryId, stepSeq: final.newStepSeq });
    }
    result.followUps.runNow.push(...started.entries);
    return result;
  }

  /**
   * The first step of entries just inserted by `tx` (a list import), in that
   * same transaction: no job round trip, no second transaction. External
   * actions are only claimed here (no lease) and their entries queued, so the
   * import never waits on a webhook; what to queue comes back for after commit.
   * (The fallback of enrolFresh when its insert met a concurrent live entry.)
   */
  async stepFresh(entries: readonly EntryStep[], tx: Transaction): Promise<FirstStepFollowUps> {
    if (entries.length === 0) return { wakes: [], runNow: [] };
    const rows = (
      await select<EntryRow>(
        this.sequelize,
        `SELECT ${ENTRY_COLUMNS} FROM \`${this.tables.entries}\` WHERE EntryID IN (?) AND State = 'active' AND StepSeq = 0`,
        [entries.map((e) => e.entryId)],
        tx,
      )
    ).map(normaliseEntry);
    const journeys = await this.journeys.load(
      rows.map((r) => r.JourneyID),
      tx,
    );
    const result = await this.stepLocked(rows, journeys, this.clock.now(), tx, true);
    return { wakes: result.wakes, runNow: [...result.enrolled, ...result.requeue] };
  }

  /**
   * The ids a multi-row INSERT gave `part` (all inserted), in row order: from
   * the insert id when the server hands a statement consecutive ids (InnoDB
   * auto-increment lock mode 0 or 1), else read back by the live-entry key.
   * Refused rows (not live) get no id from the read-back; they need none.
   */
  private async insertedIds(insertId: number, part: readonly { entry: EntryRow; admitted: AdmittedEntry }[], tx: Transaction): Promise<number[]> {
    const step = await this.consecutiveIdStep();
    if (step !== null && insertId > 0) return part.map((_, i) => insertId + i * step);
    const live = part.filter((f) => !f.admitted.refusedReason);
    if (live.length === 0) return [];
    const rows = await select<{ EntryID: number; SubscriberID: number }>(
      this.sequelize,
      `SELECT EntryID, SubscriberID FROM \`${this.tables.entries}\` WHERE JourneyID = ? AND ListID = ? AND SubscriberID IN (?) AND ActiveLock = 1`,
      [live[0].entry.JourneyID, live[0].entry.ListID, live.map((f) => f.entry.SubscriberID)],
      tx,
    );
    const bySubscriber = new Map(rows.map((r) => [Number(r.SubscriberID), Number(r.EntryID)]));
    return part.map((f) => (f.admitted.refusedReason ? 0 : bySubscriber.get(f.entry.SubscriberID)!));
  }

  /**
   * The auto-increment step when one multi-row INSERT gets consecutive ids
   * (lock mode 0 "traditional" or 1 "consecutive", MariaDB's default), null
   * otherwise (mode 2, MySQL 8's default, interleaves concurrent inserts).
   * Read once per process. Tests may set it to null to use the read-back.
   */
  idStep: Promise<number | null> | null = null;

  private consecutiveIdStep(): Promise<number | null> {
    this.idStep ??= select<{ mode: number | string | null; step: number | string | null }>(
      this.sequelize,
      'SELECT @@innodb_autoinc_lock_mode AS mode, @@auto_increment_increment AS step',
    ).then(
      ([row]) => (row && row.mode !== null && Number(row.mode) <= 1 && Number(row.step) >= 1 ? Number(row.step) : null),
      () => null,
    );
    return this.idStep;
  }

  /**
   * Every entry (any journey, any state) of these subscribers, a list at a
   * time: for a list import of new subscribers an index probe that finds
   * nothing. Non-locking, like admission's own read.
   */
  private async entriesOfSubscribers(
    refs: readonly { listId: number; subscriberId: number }[],
    tx: Transaction,
  ): Promise<{ EntryID: number; JourneyID: number; ListID: number; SubscriberID: number; State: EntryState; ActiveLock: number | null }[]> {
    const byList = new Map<number, Set<number>>();
    for (const ref of refs) {
      const set = byList.get(ref.listId) ?? new Set<number>();
      set.add(ref.subscriberId);
      byList.set(ref.listId, set);
    }
    const out: { EntryID: number; JourneyID: number; ListID: number; SubscriberID: number; State: EntryState; ActiveLock: number | null }[] = [];
    for (const [listId, subscriberIds] of byList) {
      for (const part of chunk([...subscriberIds], 1000)) {
        const rows = await select<{ EntryID: number; JourneyID: number; SubscriberID: number; State: EntryState; ActiveLock: number | null }>(
          this.sequelize,
          `SELECT EntryID, JourneyID, SubscriberID, State, ActiveLock FROM \`${this.tables.entries}\` WHERE ListID = ? AND SubscriberID IN (?)`,
          [listId, part],
          tx,
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

  /**
   * The live entries of these subscribers, locked by primary key in id order:
   * every locker in the runtime takes entry locks this way, so two
   * transactions never wait on each other in a cycle.
   */
  private async lockLive(
    entries: readonly Pick<EntryRow, 'ListID' | 'SubscriberID'>[],
    tx: Transaction,
    knownLiveIds?: number[],
  ): Promise<{ locked: Map<number, EntryRow>; liveOf: Map<string, EntryRow[]> }> {
    const liveIds: number[] = knownLiveIds ? [...knownLiveIds] : [];
    if (!knownLiveIds) {
      const byList = new Map<number, Set<number>>();
      for (const entry of entries) {
        const set = byList.get(entry.ListID) ?? new Set<number>();
        set.add(entry.SubscriberID);
        byList.set(entry.ListID, set);
      }
      for (const [listId, subscriberIds] of byList) {
        const rows = await select<{ EntryID: number }>(
          this.sequelize,
          // The live states rather than ActiveLock = 1 (the same rows): idx_subscriber then answers alone, no row lookups.
          `SELECT EntryID FROM \`${this.tables.entries}\` WHERE ListID = ? AND SubscriberID IN (?) AND State IN ('active','waiting','failed')`,
          [listId, [...subscriberIds]],
          tx,
        );
        for (const row of rows) liveIds.push(Number(row.EntryID));
      }
    }
    const locked = new Map<number, EntryRow>();
    const liveOf = new Map<string, EntryRow[]>();
    if (liveIds.length > 0) {
      const rows = await select<EntryRow>(
        this.sequelize,
        `SELECT ${ENTRY_COLUMNS} FROM \`${this.tables.entries}\` WHERE EntryID IN (?) AND ActiveLock = 1 ORDER BY EntryID FOR UPDATE`,
        [liveIds.sort((a, b) => a - b)],
        tx,
      );
      for (const raw of rows) {
        const row = normaliseEntry(raw);
        locked.set(row.EntryID, row);
        const key = subscriberKey(refOf(row));
        liveOf.set(key, [...(liveOf.get(key) ?? []), row]);
      }
    }
    return { locked, liveOf };
  }

  /**
   * Reads the facts of these (locked or new) entries' subscribers and calls
   * advance() for each, in order; later entries of a subscriber see the field
   * writes of earlier ones. Entries parked at an external action whose claim
   * is still pending come back in `resumeExternals` instead.
   */
  private async plan(
    runnable: readonly EntryRow[],
    journeys: Map<number, RuntimeJourney>,
    claims: Map<number, { Status: string }>,
    now: Date,
    targets: Map<number, RuntimeJourney | undefined>,
    tx: Transaction,
  ): Promise<{ current: Plan[]; resumeExternals: PendingExternal[] }> {
    const subscribers = await this.facts.subscribers(runnable.map((entry) => ({ ownerUserId: entry.RelOwnerUserID, ref: refOf(entry) })));
    const activity = await this.facts.activity(
      runnable
        .filter((entry) => journeys.has(entry.JourneyID))
        .map((entry) => ({
          ownerUserId: entry.RelOwnerUserID,
          ref: refOf(entry),
          selections: requiredActivity(journeys.get(entry.JourneyID)!.definition.actions),
        }))
        .filter((w) => w.selections.length > 0),
    );

    const current: Plan[] = [];
    const resumeExternals: PendingExternal[] = [];
    for (const entry of runnable) {
      const journey = journeys.get(entry.JourneyID);
      const subscriber = subscribers.get(subscriberKey(refOf(entry))) ?? null;
      if (!journey) {
        current.push({ entry, journey: placeholderJourney(entry), subscriber, result: exitWith(entry.CurrentActionID, 'Journey no longer exists') });
        continue;
      }
      if (!subscriber) {
        current.push({ entry, journey, subscriber, result: exitWith(entry.CurrentActionID, 'Subscriber no longer exists in the list') });
        continue;
      }
      const start: StepStart = entry.CurrentActionID ? { from: 'after', actionId: entry.CurrentActionID } : { from: 'beginning' };
      if (entry.CurrentActionID) {
        const action = findAction(journey.definition.actions, entry.CurrentActionID);
        if (isExternal(action)) {
          const claim = claims.get(entry.EntryID);
          if (!claim || claim.Status === 'pending') {
            resumeExternals.push({ entry, journey, action, subscriber, leased: false });
            continue;
          }
          if (claim.Status === 'failed') continue; // parked; the entry is (or is about to be) failed
        } else if (entry.State === 'waiting' && entry.WakeAt) {
          this.metrics.wakeLateness.observe(Math.max(0, now.getTime() - entry.WakeAt.getTime()) / 1000);
        }
      }
      const owner = await this.facts.owner(entry.RelOwnerUserID);
      let result: StepResult;
      try {
        result = advance({
          journey: journey.definition,
          start,
          now,
          facts: { subscriber, activity: activity.get(subscriberKey(refOf(entry))) ?? {}, timeZone: owner.timeZone, customFieldNames: owner.customFieldNames },
        });
      } catch (error) {
        result = {
          ran: [],
          effects: [],
          outcome: {
            kind: 'failed',
            actionId: entry.CurrentActionID ?? journey.definition.actions[0]?.id ?? '-',
            error: `Engine error: ${(error as Error).message}`,
          },
        };
      }
      result = await this.checkEffects(entry, result, owner, targets, tx);
      // Later entries of this subscriber in the batch see these writes (a merge tag reading the field gets the new value).
      const written = result.effects.filter((e): e is Extract<LocalEffect, { kind: 'set_custom_field' }> => e.kind === 'set_custom_field');
      if (written.length > 0) {
        const customFields = { ...subscriber.customFields };
        for (const write of written) customFields[write.fieldId] = write.value;
        subscribers.set(subscriberKey(refOf(entry)), { ...subscriber, customFields });
      }
      current.push({ entry, journey, subscriber, result });
    }
    return { current, resumeExternals };
  }

  /**
   * What the planned steps write: each entry's final position, the log rows
   * (claims; a step already claimed in `claimed` is never applied again), the
   * local effects, and the external actions claimed as pending (with a lease
   * until `leaseUntil`, none when null).
   */
  private async decide(
    current: readonly Plan[],
    claimed: Set<string>,
    liveOf: Map<string, EntryRow[]>,
    targets: Map<number, RuntimeJourney | undefined>,
    leaseUntil: Date | null,
  ): Promise<Decision> {
    const finals = new Map<number, FinalPosition>();
    const exitedByEffect = new Set<number>();
    const logs: LogRow[] = [];
    const enrolRequests: EnrolRequest[] = [];
    const fieldWrites: PendingFieldWrite[] = [];
    const externalOf = new Map<number, Plan & { action: ExternalAction }>();
    const runCounts = new Map<string, number>();
    const failCounts = new Map<string, number>();

    for (const plan of current) {
      const { entry, journey, result } = plan;
      if (exitedByEffect.has(entry.EntryID)) continue; // an earlier entry of this batch ended it
      const journeyId = journey.definition.journeyId;
      let failure: { actionId: string; error: string } | null = null;
      for (const ran of result.ran) {
        if (claimed.has(`${entry.EntryID}:${ran.actionId}`)) continue; // this step ran already: never twice
        const effects = result.effects.filter((e) => e.actionId === ran.actionId);
        let effectResult: string | null = ran.result ?? null;
        try {
          for (const effect of effects) {
            const note = await this.applyEffect(effect, plan, liveOf, finals, exitedByEffect, enrolRequests, fieldWrites, targets);
            if (note) effectResult = note;
          }
        } catch (error) {
          if (isTransientDbError(error)) throw error;
          failure = { actionId: ran.actionId, error: `${ran.type}: ${(error as Error).message}` };
          logs.push({
            entryId: entry.EntryID,
            journeyId,
            actionId: ran.actionId,
            type: ran.type,
            status: 'failed',
            result: null,
            detail: failure.error,
            leaseUntil: null,
          });
          failCounts.set(ran.type, (failCounts.get(ran.type) ?? 0) + 1);
          break;
        }
        claimed.add(`${entry.EntryID}:${ran.actionId}`);
        logs.push({
          entryId: entry.EntryID,
          journeyId,
          actionId: ran.actionId,
          type: ran.type,
          status: 'done',
          result: effectResult,
          detail: null,
          leaseUntil: null,
        });
        runCounts.set(ran.type, (runCounts.get(ran.type) ?? 0) + 1);
      }
      const newStepSeq = entry.StepSeq + 1;
      const outcome = result.outcome;
      let final: FinalPosition;
      if (failure) {
        final = { state: 'failed', currentActionId: failure.actionId, wakeAt: null, exitReason: null, lastError: failure.error, newStepSeq };
      } else {
        switch (outcome.kind) {
          case 'wait':
            if (!claimed.has(`${entry.EntryID}:${outcome.actionId}`)) {
              logs.push({
                entryId: entry.EntryID,
                journeyId,
                actionId: outcome.actionId,
                type: 'wait',
                status: 'done',
                result: outcome.wakeAt.toISOString(),
                detail: null,
                leaseUntil: null,
              });
              claimed.add(`${entry.EntryID}:${outcome.actionId}`);
            }
            final = { state: 'waiting', currentActionId: outcome.actionId, wakeAt: outcome.wakeAt, exitReason: null, lastError: null, newStepSeq };
            break;
          case 'external':
            if (!claimed.has(`${entry.EntryID}:${outcome.action.id}`)) {
              logs.push({
                entryId: entry.EntryID,
                journeyId,
                actionId: outcome.action.id,
                type: outcome.action.type,
                status: 'pending',
                result: null,
                detail: null,
                leaseUntil,
              });
              claimed.add(`${entry.EntryID}:${outcome.action.id}`);
              externalOf.set(entry.EntryID, { ...plan, action: outcome.action });
            }
            final = { state: 'active', currentActionId: outcome.action.id, wakeAt: null, exitReason: null, lastError: null, newStepSeq };
            break;
          case 'completed':
            final = {
              state: 'completed',
              currentActionId: result.ran.at(-1)?.actionId ?? entry.CurrentActionID,
              wakeAt: null,
              exitReason: null,
              lastError: null,
              newStepSeq,
            };
            break;
          case 'exited':
            final = {
              state: 'exited',
              currentActionId: outcome.actionId ?? entry.CurrentActionID,
              wakeAt: null,
              exitReason: outcome.reason.slice(0, 255),
              lastError: null,
              newStepSeq,
            };
            break;
          case 'failed': {
            const type = findAction(journey.definition.actions, outcome.actionId)?.type ?? 'unknown';
            if (!claimed.has(`${entry.EntryID}:${outcome.actionId}`)) {
              logs.push({
                entryId: entry.EntryID,
                journeyId,
                actionId: outcome.actionId,
                type,
                status: 'failed',
                result: null,
                detail: outcome.error,
                leaseUntil: null,
              });
            }
            final = { state: 'failed', currentActionId: outcome.actionId, wakeAt: null, exitReason: null, lastError: outcome.error, newStepSeq };
            failCounts.set(type, (failCounts.get(type) ?? 0) + 1);
            break;
          }
        }
      }
      finals.set(entry.EntryID, final);
    }

    // An entry ended by a later entry's exit effect does not carry out its claimed external action.
    for (const entryId of exitedByEffect) {
      if (!externalOf.has(entryId)) continue;
      externalOf.delete(entryId);
      for (const log of logs)
        if (log.entryId === entryId && log.status === 'pending')
          Object.assign(log, { status: 'skipped', leaseUntil: null, detail: 'Entry exited before the action was carried out' });
    }

    return { finals, exitedByEffect, logs, enrolRequests, fieldWrites, externalOf, runCounts, failCounts };
  }

  private async insertLogs(logs: readonly LogRow[], nowSql: string, tx: Transaction): Promise<void> {
    if (logs.length === 0) return;
    await execute(
      this.sequelize,
      `INSERT INTO \`${this.tables.log}\` (EntryID, JourneyID, ActionID, Visit, ActionType, Status, Result, Detail, LeaseUntil, CreatedAt, CompletedAt) VALUES ?`,
      [
        logs.map((l) => [
          l.entryId,
          l.journeyId,
          l.actionId,
          1,
          l.type,
          l.status,
          l.result?.slice(0, 64) ?? null,
          l.detail,
          l.leaseUntil ? sqlDate(l.leaseUntil) : null,
          nowSql,
          l.status === 'pending' ? null : nowSql,
        ]),
      ],
      tx,
    );
  }

  private async touchJourneys(journeyIds: Iterable<number>, nowSql: string, tx: Transaction): Promise<void> {
    const touch = this.journeys.activityToTouch(journeyIds);
    if (touch.length > 0)
      await execute(this.sequelize, `UPDATE \`${this.tables.journeys}\` SET LastActivityAt = ? WHERE JourneyID IN (?)`, [nowSql, touch], tx);
  }

  private countActions(decision: Decision): void {
    for (const [type, n] of decision.runCounts) this.metrics.actionsRun.inc({ type }, n);
    for (const [type, n] of decision.failCounts) this.metrics.actionsFailed.inc({ type }, n);
  }

  /** The log rows (claims) of entries parked at an external action. */
  private async claimsAt(entries: EntryRow[], tx: Transaction): Promise<Map<number, { Status: string }>> {
    const out = new Map<number, { Status: string }>();
    if (entries.length === 0) return out;
    const rows = await select<{ EntryID: number; ActionID: string; Status: string }>(
      this.sequelize,
      `SELECT EntryID, ActionID, Status FROM \`${this.tables.log}\` WHERE EntryID IN (?) AND Visit = 1`,
      [entries.map((e) => e.EntryID)],
      tx,
    );
    const at = new Map(entries.map((e) => [e.EntryID, e.CurrentActionID]));
    for (const row of rows) if (at.get(Number(row.EntryID)) === row.ActionID) out.set(Number(row.EntryID), { Status: row.Status });
    return out;
  }

  /** Applies one local effect inside the step transaction; returns a note for the log's Result when it has one. */
  private async applyEffect(
    effect: LocalEffect,
    plan: Plan,
    liveOf: Map<string, EntryRow[]>,
    finals: Map<number, FinalPosition>,
    exitedByEffect: Set<number>,
    enrolRequests: EnrolRequest[],
    fieldWrites: PendingFieldWrite[],
    targets: Map<number, RuntimeJourney | undefined>,
  ): Promise<string | null> {
    const { entry, journey } = plan;
    const ref = refOf(entry);
    switch (effect.kind) {
      case 'set_custom_field':
        fieldWrites.push({
          ownerUserId: entry.RelOwnerUserID,
          listId: ref.listId,
          subscriberId: ref.subscriberId,
          fieldId: effect.fieldId,
          value: effect.value,
        });
        return null;
      case 'start_journey': {
        const target = targets.get(effect.journeyId);
        if (!target) throw new Error(`journey ${effect.journeyId} does not exist`);
        if (!target.enabled) return 'target disabled';
        enrolRequests.push({ journey: target, ref, chainId: entry.ChainID, chainDepth: entry.ChainDepth + 1, triggerEvent: entry.TriggerEvent });
        return 'started';
      }
      case 'exit_journeys':
      case 'exit_all_other_journeys': {
        const targets = (liveOf.get(subscriberKey(ref)) ?? []).filter(
          (row) =>
            row.EntryID !== entry.EntryID &&
            (effect.kind === 'exit_all_other_journeys' || effect.journeyIds.includes(row.JourneyID)) &&
            !ended(finals.get(row.EntryID)?.state ?? row.State),
        );
        const reason =
          effect.kind === 'exit_all_other_journeys'
            ? `Exit All Other Journeys in journey ${journey.definition.journeyId} (action ${effect.actionId})`
            : `Exit Journey in journey ${journey.definition.journeyId} (action ${effect.actionId})`;
        for (const row of targets) {
          finals.set(row.EntryID, { state: 'exited', currentActionId: null, wakeAt: null, exitReason: reason, lastError: null, newStepSeq: row.StepSeq + 1 });
          exitedByEffect.add(row.EntryID);
        }
        return `exited ${targets.length}`;
      }
    }
  }

  /**
   * Refuses, before anything is applied, the effects that cannot be carried
   * out: a custom field that is not the owner's or not on the entry's list, a
   * Start Journey target that does not exist (or is another user's). The step
   * is cut at that action, which fails with the reason; the actions before it stand.
   */
  private async checkEffects(
    entry: EntryRow,
    result: StepResult,
    owner: OwnerFacts,
    targets: Map<number, RuntimeJourney | undefined>,
    tx: Transaction,
  ): Promise<StepResult> {
    for (const effect of result.effects) {
      let problem: string | null = null;
      if (effect.kind === 'set_custom_field') {
        const fieldList = owner.customFieldLists.get(effect.fieldId);
        if (fieldList === undefined) problem = `custom field ${effect.fieldId} does not exist`;
        else if (fieldList !== 0 && fieldList !== entry.ListID) problem = `custom field ${effect.fieldId} is not a field of list ${entry.ListID}`;
      } else if (effect.kind === 'start_journey') {
        if (!targets.has(effect.journeyId)) {
          const target = await this.journeys.get(effect.journeyId, tx);
          targets.set(effect.journeyId, target && target.definition.ownerUserId === entry.RelOwnerUserID ? target : undefined);
        }
        if (!targets.get(effect.journeyId)) problem = `journey ${effect.journeyId} does not exist`;
      }
      if (!problem) continue;
      const cut = result.ran.findIndex((r) => r.actionId === effect.actionId);
      const type = cut >= 0 ? result.ran[cut].type : effect.kind;
      const before = new Set(result.ran.slice(0, Math.max(0, cut)).map((r) => r.actionId));
      return {
        ran: result.ran.slice(0, Math.max(0, cut)),
        effects: result.effects.filter((e) => before.has(e.actionId)),
        outcome: { kind: 'failed', actionId: effect.actionId, error: `${type}: ${problem}` },
      };
    }
    return result;
  }

  /** Custom field writes of the step, in this transaction: one batch per list when the host offers it, else one call per value. */
  private async writeFields(writes: PendingFieldWrite[], tx: Transaction): Promise<void> {
    if (writes.length === 0) return;
    const batch = batchFieldWriter(this.host.subscriptions);
    if (!batch) {
      for (const w of writes)
        await this.host.subscriptions.setCustomField(w.ownerUserId, { listId: w.listId, subscriberId: w.subscriberId }, w.fieldId, w.value, tx);
      return;
    }
    const groups = new Map<string, PendingFieldWrite[]>();
    for (const w of writes) {
      const key = `${w.ownerUserId}:${w.listId}`;
      const group = groups.get(key);
      if (group) group.push(w);
      else groups.set(key, [w]);
    }
    for (const group of groups.values()) await batch(group[0].ownerUserId, group[0].listId, lastWrites(group), tx);
  }

  /** Entry updates grouped by identical values: a handful of UPDATE statements per batch. */
  private async writeFinals(finals: Map<number, FinalPosition>, nowSql: string, tx: Transaction): Promise<void> {
    const groups = new Map<string, { final: FinalPosition; ids: number[] }>();
    for (const [entryId, final] of finals) {
      const key = JSON.stringify([final.state, final.currentActionId, final.wakeAt?.getTime() ?? null, final.exitReason, final.lastError]);
      const group = groups.get(key) ?? { final, ids: [] };
      group.ids.push(entryId);
      groups.set(key, group);
    }
    for (const { final, ids } of groups.values()) {
      const isEnded = ended(final.state);
      await execute(
        this.sequelize,
        `UPDATE \`${this.tables.entries}\`
            SET State = ?, CurrentActionID = COALESCE(?, CurrentActionID), WakeAt = ?, ExitReason = ?, LastError = ?,
                ActiveLock = ${isEnded ? 'NULL' : '1'}, EndedAt = ${isEnded ? '?' : 'NULL'}, Attempts = 0, StepSeq = StepSeq + 1, UpdatedAt = ?
          WHERE EntryID IN (?)`,
        [
          final.state,
          final.currentActionId,
          final.wakeAt ? sqlDate(final.wakeAt) : null,
          final.exitReason,
          final.lastError,
          ...(isEnded ? [nowSql] : []),
          nowSql,
          ids,
        ],
        tx,
      );
    }
  }
}

export function refOf(entry: Pick<EntryRow, 'ListID' | 'SubscriberID'>): { listId: number; subscriberId: number } {
  return { listId: Number(entry.ListID), subscriberId: Number(entry.SubscriberID) };
}

export function normaliseEntry(row: EntryRow): EntryRow {
  return {
    ...row,
    EntryID: Number(row.EntryID),
    JourneyID: Number(row.JourneyID),
    RelOwnerUserID: Number(row.RelOwnerUserID),
    ListID: Number(row.ListID),
    SubscriberID: Number(row.SubscriberID),
    StepSeq: Number(row.StepSeq),
    ChainDepth: Number(row.ChainDepth),
    Attempts: Number(row.Attempts),
    WakeAt: row.WakeAt ? new Date(row.WakeAt) : null,
  };
}

function exitWith(actionId: string | null, reason: string): StepResult {
  return { ran: [], effects: [], outcome: { kind: 'exited', actionId, reason } };
}

function placeholderJourney(entry: EntryRow): RuntimeJourney {
  return {
    enabled: true,
    webhookSecret: '',
    definition: {
      journeyId: entry.JourneyID,
      ownerUserId: entry.RelOwnerUserID,
      name: '',
      status: 'Enabled',
      reEntry: 'allow',
      trigger: { type: 'manual' },
      actions: [],
      version: 0,
    },
  };
}
