/**
 * Journey definitions: create, edit, save actions, enable / disable, copy,
 * delete, manual enrolment and exit on request. Every method takes the owner's UserID from the
 * authenticated context; another user's journey answers NotFound.
 */
import { randomBytes } from 'crypto';
import { Inject, Injectable } from '@nestjs/common';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { JourneysErrorCode, JourneysException, type Violation } from '../common/journeys.exception';
import { CLOCK, SEQUELIZE, TABLES, type Clock } from '../core/tokens';
import { sequelizeSession } from '../database/db';
import type { PluginTables } from '../database/tables';
import { allActions } from '../engine/action-tree';
import { editImpact, type ActionPositionCount, type EditImpact } from '../engine/edit-impact';
import { ACTION_REMOVED_REASON } from '../engine/step';
import type { Action, Trigger } from '../engine/journey.types';
import type { CausationContext, SubscriberRef } from '../host/host.ports';
import { EntryScheduler, type ManualEnrolResult } from '../runtime/entry-scheduler';
import { withMessages, type NotEnrolledRef } from '../runtime/intake/not-enrolled';
import { decodeActions, decodeGoal, decodeTrigger, encodeActions, encodeGoal, encodeTrigger } from './journey.codec';
import {
  JOURNEY_NAME_MAX,
  type ActionsPreview,
  type CreateJourneyInput,
  type JourneyDetail,
  type JourneySummary,
  type SaveActionsResult,
  type UpdateJourneyInfoInput,
} from './journey.dto';
import type { JourneyModel } from './journey.model';
import { JourneyRepository, transactionWithRetry } from './journey.repository';
import { conversionRate } from './conversion';
import { JourneyValidation } from './journey-validation';
import { checkName, checkNotes, checkReEntry } from './journey-fields';

const LIVE_STATES = `('active','waiting','failed')`;
export const EXIT_ON_REQUEST_REASON = 'Exited on request';

@Injectable()
export class JourneysService {
  constructor(
    @Inject(SEQUELIZE) private readonly sequelize: Sequelize,
    @Inject(TABLES) private readonly tables: PluginTables,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly repo: JourneyRepository,
    private readonly validation: JourneyValidation,
    private readonly scheduler: EntryScheduler,
  ) {}

  /** The owner's journeys, oldest first, with their entry counts (one grouped query). */
  async list(userId: number): Promise<JourneySummary[]> {
    const rows = await this.repo.listOwned(userId, { withoutActions: true });
    if (rows.length === 0) return [];
    const counts = await this.sequelize.query<{ JourneyID: number; total: number | string; live: number | string | null; converted: number | string | null }>(
      `SELECT JourneyID, COUNT(*) AS total, SUM(State IN ${LIVE_STATES}) AS live, SUM(State = 'converted') AS converted
         FROM \`${this.tables.entries}\` WHERE JourneyID IN (:ids) GROUP BY JourneyID`,
      { replacements: { ids: rows.map((r) => r.JourneyID) }, type: QueryTypes.SELECT },
    );
    const byJourney = new Map(counts.map((c) => [Number(c.JourneyID), c]));
    return rows.map((row) => {
      const c = byJourney.get(row.JourneyID);
      const totalCount = Number(c?.total ?? 0);
      const convertedCount = Number(c?.converted ?? 0);
      return {
        journeyId: row.JourneyID,
        name: row.Name,
        trigger: decodeTrigger(row.TriggerType, row.TriggerSettings),
        triggerType: row.TriggerType as Trigger['type'],
        status: row.Status,
        reEntry: row.ReEntry,
        version: row.Version,
        activeCount: Number(c?.live ?? 0),
        totalCount,
        convertedCount,
        conversionRate: conversionRate(convertedCount, totalCount),
        goal: decodeGoal(row.Goal),
        lastActivityAt: row.LastActivityAt ?? null,
        createdAt: row.CreatedAt,
        updatedAt: row.UpdatedAt,
      };
    });
  }

  async get(userId: number, journeyId: number): Promise<JourneyDetail> {
    return toDetail(await this.repo.findOwned(userId, journeyId));
  }

  /** A new journey starts Disabled with no actions. */
  async create(userId: number, input: CreateJourneyInput): Promise<JourneyDetail> {
    const violations: Violation[] = [];
    const name = checkName(input?.name, violations);
    const notes = checkNotes(input?.notes, violations);
    const reEntry = checkReEntry(input?.reEntry ?? 'allow', violations);
    const trigger = await this.validation.checkTrigger(userId, input?.trigger, violations);
    const goal = input?.goal === undefined ? null : await this.validation.checkGoal(userId, input.goal, violations);
    if (violations.length > 0 || !trigger) throw JourneysException.invalid(summarise('The journey could not be created', violations), violations);

    const journey = await transactionWithRetry(this.sequelize, async (transaction) => {
      const row = await this.repo.Journey.create(
        {
          RelOwnerUserID: userId,
          Name: name,
          Notes: notes,
          ...encodeTrigger(trigger),
          Status: 'Disabled',
          ReEntry: reEntry,
          Actions: encodeActions([]),
          Goal: encodeGoal(goal),
          Version: 1,
          WebhookSecret: newWebhookSecret(),
        },
        { transaction },
      );
      await this.repo.writeTriggerIndex(row, trigger, transaction);
      return row;
    });
    return this.get(userId, journey.JourneyID);
  }

  /**
   * Journey Information: name, notes, trigger, re-entry rule, goal. Only the
   * given fields change. A change of name, trigger, re-entry or goal bumps
   * Version too (the runtime caches definitions by version); notes alone do not.
   */
  async updateInfo(userId: number, journeyId: number, input: UpdateJourneyInfoInput): Promise<JourneyDetail> {
    await this.repo.findOwned(userId, journeyId);
    const violations: Violation[] = [];
    const patch: Partial<Pick<JourneyModel, 'Name' | 'Notes' | 'ReEntry' | 'TriggerType' | 'TriggerSettings' | 'Goal'>> = {};
    if (input?.name !== undefined) patch.Name = checkName(input.name, violations);
    if (input?.notes !== undefined) patch.Notes = checkNotes(input.notes, violations);
    if (input?.reEntry !== undefined) patch.ReEntry = checkReEntry(input.reEntry, violations);
    let trigger: Trigger | undefined;
    if (input?.trigger !== undefined) {
      trigger = await this.validation.checkTrigger(userId, input.trigger, violations);
      if (trigger) Object.assign(patch, encodeTrigger(trigger));
    }
    if (input?.goal !== undefined) {
      const goal = await this.validation.checkGoal(userId, input.goal, violations);
      if (goal !== undefined) patch.Goal = encodeGoal(goal);
    }
    if (violations.length > 0) throw JourneysException.invalid(summarise('The journey could not be saved', violations), violations);

    await transactionWithRetry(this.sequelize, async (transaction) => {
      const row = await this.repo.findOwned(userId, journeyId, { transaction, lock: true });
      // The runtime caches definitions by JourneyID + Version: a change it reads (name, trigger, re-entry) needs a new version.
      const runtimeVisible = (['Name', 'ReEntry', 'TriggerType', 'TriggerSettings', 'Goal'] as const).some(
        (key) => patch[key] !== undefined && patch[key] !== row[key],
      );
      await row.update(runtimeVisible ? { ...patch, Version: row.Version + 1 } : patch, { transaction });
      if (trigger) await this.repo.writeTriggerIndex(row, trigger, transaction);
    });
    return this.get(userId, journeyId);
  }

  /** What saving `actions` would do, without saving: every violation, the live entries at removed actions and those before added ones. */
  async previewActions(userId: number, journeyId: number, actions: unknown): Promise<ActionsPreview> {
    const row = await this.repo.findOwned(userId, journeyId);
    const parsed = await this.validation.parseActions(userId, row.JourneyID, actions);
    const positions = await this.livePositions(row.JourneyID);
    const impact = editImpact(decodeActions(row.Actions), parsed.actions, positions);
    return { violations: parsed.violations, ...impactOf(impact) };
  }

  /**
   * Saves the action tree: refused with every violation listed; optimistic on
   * Version when `expectedVersion` is given. Forward-only: in the same
   * transaction, live entries at removed actions exit with a recorded reason.
   */
  async saveActions(userId: number, journeyId: number, actions: unknown, expectedVersion?: number): Promise<SaveActionsResult> {
    await this.repo.findOwned(userId, journeyId);
    const parsed = await this.validation.parseActions(userId, journeyId, actions);
    if (parsed.violations.length > 0) {
      throw new JourneysException(JourneysErrorCode.InvalidActions, summarise('The journey actions were not saved', parsed.violations), parsed.violations);
    }
    return transactionWithRetry(this.sequelize, async (transaction) => {
      const row = await this.repo.findOwned(userId, journeyId, { transaction, lock: true });
      if (expectedVersion !== undefined && expectedVersion !== null && Number(expectedVersion) !== row.Version) {
        throw new JourneysException(
          JourneysErrorCode.Conflict,
          `The journey was changed elsewhere (version ${row.Version}, you edited version ${expectedVersion}); reload it and apply your changes again`,
        );
      }
      const positions = await this.livePositions(row.JourneyID, transaction);
      const impact = editImpact(decodeActions(row.Actions), parsed.actions, positions);
      const version = row.Version + 1;
      await row.update({ Actions: encodeActions(parsed.actions), Version: version }, { transaction });
      const exitedEntries = await this.scheduler.exitEntries(
        { journeyId: row.JourneyID, actionIds: impact.removedActionIds },
        ACTION_REMOVED_REASON,
        sequelizeSession(this.sequelize, transaction),
      );
      const { removedActionIds, newActions, reached } = impactOf(impact);
      return { version, actions: parsed.actions, removedActionIds, exitedEntries, newActions, reached };
    });
  }

  /**
   * Enables the journey after checking its tree and trigger again (lists or
   * emails may have gone since the save); then the entries frozen inside resume.
   */
  async enable(userId: number, journeyId: number): Promise<JourneyDetail> {
    const row = await this.repo.findOwned(userId, journeyId);
    const actions = decodeActions(row.Actions);
    if (actions.length === 0) {
      const message = 'Add at least one action and save the journey actions before enabling the journey';
      throw new JourneysException(JourneysErrorCode.InvalidActions, message, [{ code: 'empty_journey', actionId: null, message }]);
    }
    const violations: Violation[] = [];
    await this.validation.checkTrigger(userId, decodeTrigger(row.TriggerType, row.TriggerSettings), violations);
    violations.push(...(await this.validation.parseActions(userId, row.JourneyID, actions)).violations);
    if (violations.length > 0) {
      throw new JourneysException(
        JourneysErrorCode.InvalidActions,
        summarise('The journey cannot be enabled until these problems are fixed', violations),
        violations,
      );
    }
    await this.setStatus(userId, journeyId, 'Enabled');
    await this.scheduler.resumeJourney(journeyId);
    return this.get(userId, journeyId);
  }

  /** Stops new entries; the entries inside freeze where they are until the journey is enabled again. */
  async disable(userId: number, journeyId: number): Promise<JourneyDetail> {
    await this.setStatus(userId, journeyId, 'Disabled');
    return this.get(userId, journeyId);
  }

  /** "Copy of X": same trigger, notes, re-entry rule, goal and actions (same ActionIDs), Disabled, version 1, a new webhook secret. */
  async copy(userId: number, journeyId: number): Promise<JourneyDetail> {
    const source = await this.repo.findOwned(userId, journeyId);
    const trigger = decodeTrigger(source.TriggerType, source.TriggerSettings);
    const copy = await transactionWithRetry(this.sequelize, async (transaction) => {
      const row = await this.repo.Journey.create(
        {
          RelOwnerUserID: userId,
          Name: `Copy of ${source.Name}`.slice(0, JOURNEY_NAME_MAX),
          Notes: source.Notes,
          TriggerType: source.TriggerType,
          TriggerSettings: source.TriggerSettings,
          Status: 'Disabled',
          ReEntry: source.ReEntry,
          Actions: source.Actions,
          Goal: source.Goal ?? null,
          Version: 1,
          WebhookSecret: newWebhookSecret(),
        },
        { transaction },
      );
      await this.repo.writeTriggerIndex(row, trigger, transaction);
      return row;
    });
    return this.get(userId, copy.JourneyID);
  }

  /**
   * Deletes a journey with its trigger rows, entries, execution log and webhook
   * deliveries. Refused while the journey is enabled (disable it first, so no
   * new entries arrive during the delete), and while another journey of the
   * owner starts or exits it (that journey would point at nothing).
   */
  async delete(userId: number, journeyId: number): Promise<void> {
    const row = await this.repo.findOwned(userId, journeyId);
    if (row.Status === 'Enabled') {
      throw new JourneysException(JourneysErrorCode.Conflict, `Disable the journey "${row.Name}" before deleting it`);
    }
    const referencing = (await this.repo.listOwned(userId))
      .filter((other) => other.JourneyID !== row.JourneyID)
      .filter((other) =>
        allActions(decodeActions(other.Actions)).some(
          (a: Action) =>
            (a.type === 'start_journey' && Number(a.settings?.journeyId) === row.JourneyID) ||
            (a.type === 'exit_journey' && (a.settings?.journeyIds ?? []).map(Number).includes(row.JourneyID)),
        ),
      );
    if (referencing.length > 0) {
      throw new JourneysException(
        JourneysErrorCode.Conflict,
        `The journey "${row.Name}" cannot be deleted: ${referencing.map((j) => `"${j.Name}"`).join(', ')} ${referencing.length === 1 ? 'refers' : 'refer'} to it in a Start Journey or Exit Journey action`,
      );
    }
    await transactionWithRetry(this.sequelize, async (transaction) => {
      const locked = await this.repo.findOwned(userId, journeyId, { transaction, lock: true });
      if (locked.Status === 'Enabled') {
        throw new JourneysException(JourneysErrorCode.Conflict, `Disable the journey "${locked.Name}" before deleting it`);
      }
      await this.scheduler.deleteJourneyEntries(sequelizeSession(this.sequelize, transaction), locked.JourneyID);
      await this.sequelize.query(`DELETE FROM \`${this.tables.triggers}\` WHERE JourneyID = ?`, { replacements: [locked.JourneyID], transaction });
      await locked.destroy({ transaction });
    });
  }

  /**
   * Enrols subscribers of the owner's lists into the journey (the API's
   * subscriber.journey.trigger). Lists of another user answer NotFound;
   * subscribers that do not exist are refused, all named. Only subscribed
   * subscribers enter by hand (a journey triggered by unsubscription takes
   * anyone); the others are in `notEnrolled` as not_subscribed, beside those
   * the runtime turned away.
   */
  async enrolSubscribers(userId: number, journeyId: number, refs: SubscriberRef[], causation?: CausationContext): Promise<ManualEnrolResult> {
    const row = await this.repo.findOwned(userId, journeyId);
    const subscribers = await this.validation.existingSubscribers(userId, refs);
    const anyStatus = row.TriggerType === 'unsubscription';
    const mayEnter: SubscriberRef[] = [];
    const notSubscribed: NotEnrolledRef[] = [];
    for (const s of subscribers) {
      if (anyStatus || s.subscriptionStatus === 'Subscribed') mayEnter.push(refOf(s));
      else notSubscribed.push({ ref: refOf(s), reason: 'not_subscribed', detail: s.subscriptionStatus });
    }
    const result = await this.scheduler.enrolManually(userId, journeyId, mayEnter, causation);
    return { ...result, notEnrolled: withMessages([...notSubscribed, ...result.notEnrolled], subscribers.map(refOf)) };
  }

  /**
   * Takes subscribers out of the journey (the API's subscriber.journey.exit):
   * their live entry exits with EXIT_ON_REQUEST_REASON. Subscribers without a
   * live entry are left alone; the count says how many exited.
   */
  async exitSubscribers(userId: number, journeyId: number, refs: SubscriberRef[]): Promise<{ exited: number }> {
    const row = await this.repo.findOwned(userId, journeyId);
    const checked = await this.validation.checkSubscriberRefs(userId, refs);
    // Through the scheduler, which locks entries in the workers' order (by EntryID), so it cannot deadlock with them.
    return { exited: await this.scheduler.exitEntries({ journeyId: row.JourneyID, refs: checked }, EXIT_ON_REQUEST_REASON) };
  }

  private async setStatus(userId: number, journeyId: number, status: 'Enabled' | 'Disabled'): Promise<void> {
    await transactionWithRetry(this.sequelize, async (transaction) => {
      const row = await this.repo.findOwned(userId, journeyId, { transaction, lock: true });
      if (row.Status !== status) await row.update({ Status: status }, { transaction });
      await this.repo.setTriggerIndexEnabled(row.JourneyID, status === 'Enabled', transaction);
    });
  }

  /** Live entries per current ActionID (null: not started yet). */
  private async livePositions(journeyId: number, transaction?: Transaction): Promise<ActionPositionCount[]> {
    const rows = await this.scheduler.livePositions(sequelizeSession(this.sequelize, transaction), journeyId);
    return rows.map((r) => ({ actionId: r.ActionID, count: Number(r.n) }));
  }
}

/** What the preview and the save report of an edit's impact. */
function impactOf(impact: EditImpact): Omit<ActionsPreview, 'violations'> {
  return { affected: impact.affected, removedActionIds: impact.removedActionIds, newActions: impact.newActions, reached: impact.reached };
}

function refOf(subscriber: SubscriberRef): SubscriberRef {
  return { listId: subscriber.listId, subscriberId: subscriber.subscriberId };
}

function toDetail(row: JourneyModel): JourneyDetail {
  return {
    journeyId: row.JourneyID,
    ownerUserId: row.RelOwnerUserID,
    name: row.Name,
    notes: row.Notes ?? null,
    trigger: decodeTrigger(row.TriggerType, row.TriggerSettings),
    status: row.Status,
    reEntry: row.ReEntry,
    actions: decodeActions(row.Actions),
    version: row.Version,
    goal: decodeGoal(row.Goal),
    webhookSecret: row.WebhookSecret,
    createdAt: row.CreatedAt,
    updatedAt: row.UpdatedAt,
    lastActivityAt: row.LastActivityAt ?? null,
  };
}

function summarise(prefix: string, violations: Violation[]): string {
  return violations.length === 0 ? prefix : `${prefix}: ${violations.map((v) => v.message).join('; ')}`;
}

/** Standard Webhooks secret: `whsec_` + base64 of 24 random bytes. */
function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}
