/**
 * Numbers and history of journeys: per-action counts for the planner, the
 * funnel, entry totals, a subscriber's journey history, failed and retrying
 * entries with retry / skip. Grouped SQL on the existing indexes:
 *   entries (JourneyID, State, CurrentActionID), entries (ListID, SubscriberID, State),
 *   log (JourneyID, ActionID, Status), log (EntryID, ActionID).
 */
import { Inject, Injectable } from '@nestjs/common';
import { QueryTypes, type Sequelize } from 'sequelize';
import { JourneysErrorCode, JourneysException } from '../common/journeys.exception';
import { HOST_PORTS, type HostPorts, type HostSubscriber } from '../host/host.ports';
import { SEQUELIZE, TABLES } from '../core/tokens';
import type { PluginTables } from '../database/tables';
import { branchesOf } from '../engine/action-tree';
import type { Action } from '../engine/journey.types';
import type { EntryState } from '../engine/step.types';
import { EntryScheduler } from '../runtime/entry-scheduler';
import { EXTERNAL_MAX_ATTEMPTS } from '../runtime/runtime.limits';
import { BRANCH_OF_RESULT_SQL, branchTaken } from './branch-results';
import { conversionRate } from './conversion';
import { externalActionIds, RETRYING_SQL, troubleOf } from './entry-trouble';
import { decodeActions, decodeGoal } from './journey.codec';
import type { ActionCount, EntriesSummary, FailedEntry, Funnel, FunnelStep, HistoryEntry, HistoryLogRow, SubscriberHistory } from './journey.dto';
import { actionLabel, actionTypeLabel } from './journey-labels';
import { treeOrder } from './tree-order';
import { JourneyRepository } from './journey.repository';

const ENTRY_STATES: EntryState[] = ['active', 'waiting', 'completed', 'exited', 'failed', 'converted'];
/** Failed entries shown (newest first), and as many retrying ones (next attempt first). */
const FAILED_ENTRIES_LIMIT = 500;
/** Newest entries shown in a history (all of an address's subscribers together). */
const HISTORY_ENTRIES_LIMIT = 500;

interface EntryRow {
  EntryID: number;
  JourneyID: number;
  ListID: number;
  SubscriberID: number;
  EntryNumber: number;
  State: EntryState;
  CurrentActionID: string | null;
  WakeAt: Date | null;
  LastError: string | null;
  ExitReason: string | null;
  Attempts: number;
  CreatedAt: Date;
  UpdatedAt: Date;
  EndedAt: Date | null;
}

interface LogRow {
  EntryID: number;
  ActionID: string;
  ActionType: string;
  Status: HistoryLogRow['status'];
  Result: string | null;
  Detail: string | null;
  CreatedAt: Date;
  CompletedAt: Date | null;
}

@Injectable()
export class JourneyStatsService {
  constructor(
    @Inject(SEQUELIZE) private readonly sequelize: Sequelize,
    @Inject(TABLES) private readonly tables: PluginTables,
    @Inject(HOST_PORTS) private readonly host: HostPorts,
    private readonly repo: JourneyRepository,
    private readonly scheduler: EntryScheduler,
  ) {}

  /**
   * Per ActionID: live entries at it, finished runs, runs skipped, entries
   * parked failed at it, entries retrying it, and for a branching action the
   * runs per branch taken. Every action of the tree is present.
   */
  async actionCounts(userId: number, journeyId: number): Promise<Record<string, ActionCount>> {
    const journey = await this.repo.findOwned(userId, journeyId);
    const actions = decodeActions(journey.Actions);
    const tree = treeOrder(actions);
    const counts: Record<string, ActionCount> = {};
    const at = (id: string) => (counts[id] ??= { current: 0, passed: 0, failed: 0, retrying: 0, skipped: 0 });
    for (const { action } of tree) {
      at(action.id);
      const branches = branchesOf(action);
      if (branches.length > 0) at(action.id).branches = Object.fromEntries(branches.map((b) => [b.key, 0]));
    }
    const branchingIds = tree.filter((s) => branchesOf(s.action).length > 0).map((s) => s.action.id);
    const replacements = { journeyId: journey.JourneyID, branchingIds };

    const [positions, runs, taken, retrying] = await Promise.all([
      this.sequelize.query<{ ActionID: string; State: EntryState; n: number }>(
        `SELECT CurrentActionID AS ActionID, State, COUNT(*) AS n FROM \`${this.tables.entries}\`
          WHERE JourneyID = :journeyId AND State IN ('active','waiting','failed') AND CurrentActionID IS NOT NULL
          GROUP BY State, CurrentActionID`,
        { replacements, type: QueryTypes.SELECT },
      ),
      this.sequelize.query<{ ActionID: string; Status: 'done' | 'skipped'; n: number }>(
        `SELECT ActionID, Status, COUNT(*) AS n FROM \`${this.tables.log}\`
          WHERE JourneyID = :journeyId AND Status IN ('done','skipped') GROUP BY ActionID, Status`,
        { replacements, type: QueryTypes.SELECT },
      ),
      branchingIds.length === 0
        ? []
        : this.sequelize.query<{ ActionID: string; Taken: string | null; n: number }>(
            `SELECT ActionID, ${BRANCH_OF_RESULT_SQL} AS Taken, COUNT(*) AS n FROM \`${this.tables.log}\`
              WHERE JourneyID = :journeyId AND ActionID IN (:branchingIds) AND Status = 'done' GROUP BY ActionID, Taken`,
            { replacements, type: QueryTypes.SELECT },
          ),
      this.retryingByAction(journey.JourneyID, actions),
    ]);
    const waiting = new Map<string, number>();
    for (const p of positions) {
      at(p.ActionID).current += Number(p.n);
      if (p.State === 'failed') at(p.ActionID).failed += Number(p.n);
      if (p.State === 'waiting') waiting.set(p.ActionID, Number(p.n));
    }
    // Retrying entries are waiting ones, read a moment later: never more than were waiting there.
    for (const [actionId, n] of retrying) at(actionId).retrying = Math.min(n, waiting.get(actionId) ?? 0);
    const typeOf = new Map(tree.map(({ action }) => [action.id, action.type]));
    for (const r of runs) {
      if (r.Status === 'skipped') {
        at(r.ActionID).skipped += Number(r.n);
        continue;
      }
      // A Wait's run is logged `done` when the entry starts waiting, so the ones still waiting there have not passed it yet.
      // (A Wait for event is logged when it resolves, and a retrying entry's claim is still pending: neither was counted as done.)
      const stillThere = typeOf.get(r.ActionID) === 'wait' ? (waiting.get(r.ActionID) ?? 0) : 0;
      at(r.ActionID).passed += Math.max(0, Number(r.n) - stillThere);
    }
    for (const t of taken) {
      const key = branchTaken(t.Taken);
      const branches = at(t.ActionID).branches;
      if (key && branches && key in branches) branches[key] += Number(t.n);
    }
    return counts;
  }

  /** How many entries entered and converted, and how many runs reached each action, in tree order. */
  async funnel(userId: number, journeyId: number): Promise<Funnel> {
    const journey = await this.repo.findOwned(userId, journeyId);
    const tree = treeOrder(decodeActions(journey.Actions));
    // A Wait for event logs its row when it resolves: the entries still at it (or that left from it, converted) reached it without one.
    const awaitingIds = tree.filter((s) => s.action.type === 'wait_for_event').map((s) => s.action.id);
    const replacements = { journeyId: journey.JourneyID, awaitingIds };
    const [reachedRows, [entries], unlogged] = await Promise.all([
      this.sequelize.query<{ ActionID: string; n: number }>(
        `SELECT ActionID, COUNT(*) AS n FROM \`${this.tables.log}\` WHERE JourneyID = :journeyId GROUP BY ActionID`,
        { replacements, type: QueryTypes.SELECT },
      ),
      this.sequelize.query<{ n: number; converted: number | string | null }>(
        `SELECT COUNT(*) AS n, SUM(State = 'converted') AS converted FROM \`${this.tables.entries}\` WHERE JourneyID = :journeyId`,
        { replacements, type: QueryTypes.SELECT },
      ),
      awaitingIds.length === 0
        ? []
        : this.sequelize.query<{ ActionID: string; n: number }>(
            `SELECT e.CurrentActionID AS ActionID, COUNT(*) AS n FROM \`${this.tables.entries}\` e
               LEFT JOIN \`${this.tables.log}\` l ON l.EntryID = e.EntryID AND l.ActionID = e.CurrentActionID
              WHERE e.JourneyID = :journeyId AND e.CurrentActionID IN (:awaitingIds) AND l.LogID IS NULL
              GROUP BY e.CurrentActionID`,
            { replacements, type: QueryTypes.SELECT },
          ),
    ]);
    const reached = new Map(reachedRows.map((r) => [r.ActionID, Number(r.n)]));
    for (const u of unlogged) reached.set(u.ActionID, (reached.get(u.ActionID) ?? 0) + Number(u.n));
    const steps: FunnelStep[] = tree.map(({ action, depth, branch, branchLabel, parent }) => ({
      actionId: action.id,
      type: action.type,
      label: actionLabel(action),
      depth,
      branch,
      branchLabel,
      parentActionId: parent,
      reached: reached.get(action.id) ?? 0,
    }));
    return { entered: Number(entries?.n ?? 0), converted: Number(entries?.converted ?? 0), hasGoal: decodeGoal(journey.Goal) !== null, steps };
  }

  /** Entries by state (retrying ones apart from the other waiting ones), their total, and the conversion rate. */
  async entriesSummary(userId: number, journeyId: number): Promise<EntriesSummary> {
    const journey = await this.repo.findOwned(userId, journeyId);
    const [rows, retrying] = await Promise.all([
      this.sequelize.query<{ State: EntryState; n: number }>(
        `SELECT State, COUNT(*) AS n FROM \`${this.tables.entries}\` WHERE JourneyID = :journeyId GROUP BY State`,
        { replacements: { journeyId: journey.JourneyID }, type: QueryTypes.SELECT },
      ),
      this.retryingByAction(journey.JourneyID, decodeActions(journey.Actions)),
    ]);
    const summary = Object.fromEntries(ENTRY_STATES.map((s) => [s, 0])) as EntriesSummary;
    summary.retrying = 0;
    summary.total = 0;
    for (const r of rows) {
      summary[r.State] = Number(r.n);
      summary.total += Number(r.n);
    }
    // Two reads a moment apart: an entry may have moved on between them.
    for (const n of retrying.values()) summary.retrying += n;
    summary.retrying = Math.min(summary.retrying, summary.waiting);
    summary.waiting -= summary.retrying;
    summary.conversionRate = conversionRate(summary.converted, summary.total);
    return summary;
  }

  /**
   * Journey history of every subscriber of the owner's lists with this email
   * address: each entry (newest first, the latest 500) with the journey's name and every action run.
   */
  async history(userId: number, emailAddress: string): Promise<SubscriberHistory[]> {
    const email = typeof emailAddress === 'string' ? emailAddress.trim() : '';
    if (email === '') return [];
    const [subscribers, lists] = await Promise.all([this.host.audience.findSubscribersByEmail(userId, email), this.host.audience.listLists(userId)]);
    const ownLists = new Map(lists.map((l) => [l.listId, l.name]));
    const mine = subscribers.filter((s) => ownLists.has(s.listId));
    if (mine.length === 0) return [];

    const entries = await this.sequelize.query<EntryRow & { JourneyName: string; Actions: string }>(
      `SELECT e.EntryID, e.JourneyID, e.ListID, e.SubscriberID, e.EntryNumber, e.State, e.CurrentActionID, e.WakeAt,
              e.LastError, e.ExitReason, e.Attempts, e.CreatedAt, e.UpdatedAt, e.EndedAt, j.Name AS JourneyName, j.Actions
         FROM \`${this.tables.entries}\` e
         JOIN \`${this.tables.journeys}\` j ON j.JourneyID = e.JourneyID AND j.RelOwnerUserID = :userId
        WHERE e.RelOwnerUserID = :userId AND (${mine.map((_, i) => `(e.ListID = :l${i} AND e.SubscriberID = :s${i})`).join(' OR ')})
        ORDER BY e.CreatedAt DESC, e.EntryID DESC LIMIT ${HISTORY_ENTRIES_LIMIT}`,
      {
        replacements: Object.assign({ userId }, ...mine.map((s, i) => ({ [`l${i}`]: s.listId, [`s${i}`]: s.subscriberId }))),
        type: QueryTypes.SELECT,
      },
    );
    const logs = entries.length
      ? await this.sequelize.query<LogRow>(
          `SELECT EntryID, ActionID, ActionType, Status, Result, Detail, CreatedAt, CompletedAt
             FROM \`${this.tables.log}\` WHERE EntryID IN (:entryIds) ORDER BY EntryID, CreatedAt, LogID`,
          { replacements: { entryIds: entries.map((e) => e.EntryID) }, type: QueryTypes.SELECT },
        )
      : [];
    const logsByEntry = groupBy(logs, (l) => Number(l.EntryID));
    const treeByJourney = new Map<number, Map<string, Action>>();
    const treeOf = (journeyId: number, json: string) => {
      let tree = treeByJourney.get(journeyId);
      if (!tree) {
        tree = new Map(treeOrder(decodeActions(json)).map((s) => [s.action.id, s.action]));
        treeByJourney.set(journeyId, tree);
      }
      return tree;
    };

    const entriesBySubscriber = groupBy(entries, (e) => `${e.ListID}:${e.SubscriberID}`);
    return mine.map((s) => ({
      listId: s.listId,
      listName: ownLists.get(s.listId) ?? '',
      subscriberId: s.subscriberId,
      emailAddress: s.emailAddress,
      subscriptionStatus: s.subscriptionStatus,
      entries: (entriesBySubscriber.get(`${s.listId}:${s.subscriberId}`) ?? []).map((e): HistoryEntry => {
        const tree = treeOf(Number(e.JourneyID), e.Actions);
        return {
          entryId: Number(e.EntryID),
          journeyId: Number(e.JourneyID),
          journeyName: e.JourneyName,
          entryNumber: Number(e.EntryNumber),
          state: e.State,
          currentActionId: e.CurrentActionID,
          wakeAt: e.WakeAt,
          lastError: e.LastError,
          exitReason: e.ExitReason,
          startedAt: e.CreatedAt,
          updatedAt: e.UpdatedAt,
          endedAt: e.EndedAt,
          log: (logsByEntry.get(Number(e.EntryID)) ?? []).map((l) => {
            const action = tree.get(l.ActionID);
            return {
              actionId: l.ActionID,
              actionType: l.ActionType,
              label: action ? actionLabel(action) : actionTypeLabel(l.ActionType),
              status: l.Status,
              result: l.Result,
              detail: l.Detail,
              at: l.CompletedAt ?? l.CreatedAt,
              startedAt: l.CreatedAt,
              completedAt: l.CompletedAt,
            };
          }),
        };
      }),
    }));
  }

  /**
   * Entries that stopped with an error: the failed ones (newest first), then
   * the ones retrying an external action (next attempt first), at most 500 of
   * each, with the subscriber's email and the error.
   */
  async failedEntries(userId: number, journeyId: number): Promise<FailedEntry[]> {
    const journey = await this.repo.findOwned(userId, journeyId);
    const actions = decodeActions(journey.Actions);
    const externalIds = externalActionIds(actions);
    const columns = 'EntryID, ListID, SubscriberID, State, CurrentActionID, WakeAt, LastError, Attempts, UpdatedAt';
    const [failed, retrying] = await Promise.all([
      this.sequelize.query<EntryRow>(
        `SELECT ${columns} FROM \`${this.tables.entries}\` WHERE JourneyID = :journeyId AND State = 'failed'
          ORDER BY UpdatedAt DESC, EntryID DESC LIMIT ${FAILED_ENTRIES_LIMIT}`,
        { replacements: { journeyId: journey.JourneyID }, type: QueryTypes.SELECT },
      ),
      externalIds.length === 0
        ? []
        : this.sequelize.query<EntryRow>(
            `SELECT ${columns} FROM \`${this.tables.entries}\` WHERE JourneyID = :journeyId AND ${RETRYING_SQL}
              ORDER BY WakeAt, EntryID LIMIT ${FAILED_ENTRIES_LIMIT}`,
            { replacements: { journeyId: journey.JourneyID, externalActionIds: externalIds }, type: QueryTypes.SELECT },
          ),
    ]);
    const rows = [...failed, ...retrying];
    const tree = new Map(treeOrder(actions).map((s) => [s.action.id, s.action]));
    const emails = await this.emailsOf(userId, rows);
    return rows.map((r) => {
      const action = r.CurrentActionID ? tree.get(r.CurrentActionID) : undefined;
      const status = r.State === 'failed' ? 'failed' : 'retrying';
      return {
        entryId: Number(r.EntryID),
        listId: Number(r.ListID),
        subscriberId: Number(r.SubscriberID),
        emailAddress: emails.get(`${r.ListID}:${r.SubscriberID}`) ?? '',
        actionId: r.CurrentActionID,
        actionLabel: action ? actionLabel(action) : '',
        status,
        error: r.LastError,
        attempts: Number(r.Attempts),
        maxAttempts: EXTERNAL_MAX_ATTEMPTS,
        failedAt: r.UpdatedAt,
        nextAttemptAt: status === 'retrying' ? r.WakeAt : null,
      };
    });
  }

  /** Runs a failed entry's action again, or a retrying entry's next attempt now. `journeyId`: the entry must be in that journey. */
  async retryEntry(userId: number, entryId: number, journeyId?: number): Promise<void> {
    await this.troubledEntryOf(userId, entryId, journeyId);
    await this.scheduler.retryEntry(entryId, userId);
  }

  /** Moves a failed or retrying entry past its action. `journeyId`: the entry must be in that journey. */
  async skipEntry(userId: number, entryId: number, journeyId?: number): Promise<void> {
    await this.troubledEntryOf(userId, entryId, journeyId);
    await this.scheduler.skipEntry(entryId, userId);
  }

  /**
   * The owner's entry (in `journeyId` when given; NotFound otherwise), which
   * must be failed or retrying (Conflict otherwise). The scheduler checks the
   * state again under the entry's lock.
   */
  private async troubledEntryOf(userId: number, entryId: number, journeyId?: number): Promise<void> {
    const [row] =
      Number.isSafeInteger(entryId) && entryId > 0
        ? await this.sequelize.query<Pick<EntryRow, 'JourneyID' | 'State' | 'LastError' | 'CurrentActionID'> & { Actions: string }>(
            `SELECT e.JourneyID, e.State, e.LastError, e.CurrentActionID, j.Actions FROM \`${this.tables.entries}\` e
             JOIN \`${this.tables.journeys}\` j ON j.JourneyID = e.JourneyID AND j.RelOwnerUserID = :userId
            WHERE e.EntryID = :entryId AND e.RelOwnerUserID = :userId`,
            { replacements: { userId, entryId }, type: QueryTypes.SELECT },
          )
        : [];
    if (!row || (journeyId !== undefined && Number(row.JourneyID) !== journeyId)) throw JourneysException.notFound(`Entry ${entryId}`);
    if (troubleOf(row, decodeActions(row.Actions)) === null) {
      throw new JourneysException(
        JourneysErrorCode.Conflict,
        `Entry ${entryId} is ${row.State}, not failed or retrying: only a failed entry, or one retrying an external action, can be retried or skipped`,
      );
    }
  }

  /** Entries waiting for their next attempt at each external action of the tree, by ActionID. */
  private async retryingByAction(journeyId: number, actions: readonly Action[]): Promise<Map<string, number>> {
    const externalIds = externalActionIds(actions);
    if (externalIds.length === 0) return new Map();
    const rows = await this.sequelize.query<{ ActionID: string; n: number }>(
      `SELECT CurrentActionID AS ActionID, COUNT(*) AS n FROM \`${this.tables.entries}\`
        WHERE JourneyID = :journeyId AND ${RETRYING_SQL} GROUP BY CurrentActionID`,
      { replacements: { journeyId, externalActionIds: externalIds }, type: QueryTypes.SELECT },
    );
    return new Map(rows.map((r) => [r.ActionID, Number(r.n)]));
  }

  /** Email addresses of the entries' subscribers, one batch read per list. */
  private async emailsOf(userId: number, rows: Pick<EntryRow, 'ListID' | 'SubscriberID'>[]): Promise<Map<string, string>> {
    const byList = groupBy(rows, (r) => Number(r.ListID));
    const found = await Promise.all(
      [...byList].map(([listId, rs]) => this.host.audience.getSubscribers(userId, listId, [...new Set(rs.map((r) => Number(r.SubscriberID)))])),
    );
    return new Map(found.flat().map((s: HostSubscriber) => [`${s.listId}:${s.subscriberId}`, s.emailAddress]));
  }
}

function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}
