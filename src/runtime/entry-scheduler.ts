/**
 * The runtime's API for the rest of the plug-in (journeys service, API, pages):
 * queue entries, resume a journey after Enable, enrol by hand, retry or skip a
 * failed entry. Everything goes through MySQL first; Redis only wakes work.
 */
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { Transaction, type Sequelize } from 'sequelize';
import { JourneysErrorCode, JourneysException } from '../common/journeys.exception';
import type { AppConfig } from '../config/env';
import { CLOCK, PLUGIN_CONFIG, SEQUELIZE, TABLES, type Clock } from '../core/tokens';
import type { PluginTables } from '../database/tables';
import { actionPath as actionPathOf, findAction } from '../engine/action-tree';
import type { CausationContext, SubscriberRef } from '../host/host.ports';
import { EnrolmentService } from './enrolment.service';
import { EntryQueue, type TimedEntryStep } from './entry-queue.service';
import { isExternal } from './entry-runner';
import { EntryExits, type ExitFilter } from './entry-exits';
import { JourneyStore } from './journey-store';
import { chunk, type EntryStep } from './queues';
import { execute, select, sqlDate } from './sql';

export interface ManualEnrolResult {
  enrolled: number;
  /** Refused by the loop bound. */
  refused: number;
  entryIds: number[];
}

interface Position {
  EntryID: number;
  StepSeq: number;
  State: string;
  WakeAt: Date | null;
}

@Injectable()
export class EntryScheduler {
  constructor(
    @Inject(SEQUELIZE) private readonly sequelize: Sequelize,
    @Inject(TABLES) private readonly tables: PluginTables,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PLUGIN_CONFIG) private readonly config: AppConfig,
    private readonly queue: EntryQueue,
    private readonly enrolment: EnrolmentService,
    private readonly journeys: JourneyStore,
    private readonly exits: EntryExits,
  ) {}

  /** Queue these entries: active ones now, waiting ones for their wake time. Ended or unknown ids are ignored. */
  async schedule(entryIds: number[]): Promise<void> {
    for (const ids of chunk([...new Set(entryIds)], 5000)) {
      const rows = await select<Position>(
        this.sequelize,
        `SELECT EntryID, StepSeq, State, WakeAt FROM \`${this.tables.entries}\` WHERE EntryID IN (?) AND ActiveLock = 1 AND State IN ('active','waiting')`,
        [ids],
      );
      await this.queuePositions(rows);
    }
  }

  /** After Enable: the journey's active entries run now, waits already due run at once, near ones get their wake job. */
  async resumeJourney(journeyId: number): Promise<void> {
    const horizon = new Date(this.clock.now().getTime() + this.config.WAKE_HORIZON_SECONDS * 1000);
    let after = 0;
    for (;;) {
      const rows = await select<Position>(
        this.sequelize,
        `SELECT EntryID, StepSeq, State, WakeAt FROM \`${this.tables.entries}\`
          WHERE JourneyID = ? AND EntryID > ? AND ActiveLock = 1 AND (State = 'active' OR (State = 'waiting' AND WakeAt <= ?))
          ORDER BY EntryID LIMIT 5000`,
        [journeyId, after, sqlDate(horizon)],
      );
      if (rows.length === 0) return;
      await this.queuePositions(rows);
      after = Number(rows[rows.length - 1].EntryID);
      if (rows.length < 5000) return;
    }
  }

  /**
   * Enrols subscribers into one of the user's journeys (the API, Start Journey
   * from outside). The journey must be enabled. `causation` continues a chain;
   * without it a new chain starts.
   */
  async enrolManually(userId: number, journeyId: number, refs: SubscriberRef[], causation?: CausationContext): Promise<ManualEnrolResult> {
    const journey = await this.journeys.get(journeyId);
    if (!journey || journey.definition.ownerUserId !== userId) throw JourneysException.notFound(`Journey ${journeyId}`);
    if (!journey.enabled) throw new JourneysException(JourneysErrorCode.Conflict, `Journey ${journeyId} is disabled; enable it before adding subscribers`);
    const result = await this.enrolment.enrolRefs(journey, refs, causation ?? { chainId: `manual:${randomUUID()}`, depth: 0 });
    return { enrolled: result.enrolled, refused: result.refused, entryIds: result.entries.map((e) => e.entryId) };
  }

  /**
   * Ends live entries of a journey with a reason (a subscriber taken out by the
   * API, entries at actions an edit removed). Entries are found first, then
   * updated by primary key in id order, the same order the workers lock them
   * in, so this never deadlocks with a running step; StepSeq moves on so a
   * queued job finds them gone. Returns how many ended.
   */
  exitEntries(filter: ExitFilter, reason: string, transaction?: Transaction): Promise<number> {
    return this.exits.exit(filter, reason, transaction);
  }

  /** A failed entry tries its failed action again. */
  async retryEntry(entryId: number, userId?: number): Promise<void> {
    await this.unpark(entryId, userId, 'retry');
  }

  /** A failed entry goes on after its failed action, as if it had succeeded. */
  async skipEntry(entryId: number, userId?: number): Promise<void> {
    await this.unpark(entryId, userId, 'skip');
  }

  private async unpark(entryId: number, userId: number | undefined, how: 'retry' | 'skip'): Promise<void> {
    const nowSql = sqlDate(this.clock.now());
    const step = await this.sequelize.transaction({ isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED }, async (tx) => {
      const [entry] = await select<{
        EntryID: number;
        JourneyID: number;
        RelOwnerUserID: number;
        CurrentActionID: string | null;
        StepSeq: number;
        State: string;
      }>(
        this.sequelize,
        `SELECT EntryID, JourneyID, RelOwnerUserID, CurrentActionID, StepSeq, State FROM \`${this.tables.entries}\` WHERE EntryID = ? FOR UPDATE`,
        [entryId],
        tx,
      );
      if (!entry || (userId !== undefined && Number(entry.RelOwnerUserID) !== userId)) throw JourneysException.notFound(`Entry ${entryId}`);
      if (entry.State !== 'failed') throw new JourneysException(JourneysErrorCode.Conflict, `Entry ${entryId} is ${entry.State}, not failed`);
      const actionId = entry.CurrentActionID;
      const journey = await this.journeys.get(Number(entry.JourneyID), tx);
      const action = journey && actionId ? findAction(journey.definition.actions, actionId) : undefined;
      if (actionId) {
        if (how === 'skip') {
          await execute(
            this.sequelize,
            `UPDATE \`${this.tables.log}\` SET Status = 'skipped', LeaseUntil = NULL, CompletedAt = ? WHERE EntryID = ? AND ActionID = ? AND Visit = 1`,
            [nowSql, entryId, actionId],
            tx,
          );
        } else if (isExternal(action)) {
          await execute(
            this.sequelize,
            `UPDATE \`${this.tables.log}\` SET Status = 'pending', LeaseUntil = NULL, CompletedAt = NULL WHERE EntryID = ? AND ActionID = ? AND Visit = 1`,
            [entryId, actionId],
            tx,
          );
        } else {
          // An instant action runs again when the entry resumes before it: drop its failed claim.
          await execute(
            this.sequelize,
            `DELETE FROM \`${this.tables.log}\` WHERE EntryID = ? AND ActionID = ? AND Visit = 1 AND Status = 'failed'`,
            [entryId, actionId],
            tx,
          );
        }
      }
      const resumeAt = how === 'retry' && actionId && !isExternal(action) ? this.positionBefore(journey?.definition.actions, actionId) : actionId;
      await execute(
        this.sequelize,
        `UPDATE \`${this.tables.entries}\` SET State = 'active', CurrentActionID = ?, WakeAt = NULL, LastError = NULL, Attempts = 0, StepSeq = StepSeq + 1, UpdatedAt = ? WHERE EntryID = ?`,
        [resumeAt, nowSql, entryId],
        tx,
      );
      return { entryId, stepSeq: Number(entry.StepSeq) + 1 };
    });
    await this.queue.runNow([step]);
  }

  /**
   * Where an entry must stand so that its next step runs `actionId` again: after
   * the action before it in its list, or at the beginning when it is first in
   * the top list. An action first in a Yes/No branch re-runs from its condition's
   * predecessor, so the condition is evaluated again on the fresh facts.
   */
  private positionBefore(actions: Parameters<typeof findAction>[0] | undefined, actionId: string): string | null {
    if (!actions) return actionId;
    const path = actionPathOf(actions, actionId);
    if (!path) return actionId;
    for (let depth = path.length - 1; depth >= 0; depth--) {
      const { list, index } = path[depth];
      if (index > 0) return list[index - 1].id;
    }
    return null;
  }

  private async queuePositions(rows: Position[]): Promise<void> {
    const now: EntryStep[] = [];
    const timed: TimedEntryStep[] = [];
    for (const row of rows) {
      const step = { entryId: Number(row.EntryID), stepSeq: Number(row.StepSeq) };
      if (row.State === 'waiting' && row.WakeAt) timed.push({ ...step, wakeAt: new Date(row.WakeAt) });
      else now.push(step);
    }
    await this.queue.runNow(now);
    await this.queue.runAt(timed);
  }
}
