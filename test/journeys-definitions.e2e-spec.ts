/**
 * JourneysService and JourneyStatsService on real MariaDB: the host schema and
 * demo data of the reference host, the plug-in's migrations, the MySQL audience
 * adapter, under a random table prefix. The EntryScheduler is a recording
 * double here: these tests prove the definitions side (rows, versions, entry
 * exits, counts); the runtime's own tests prove what the scheduler does.
 */
import { randomBytes } from 'crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { QueryTypes, type Sequelize } from 'sequelize';
import { JourneysErrorCode, JourneysException } from '../src/common/journeys.exception';
import { loadConfig } from '../src/config/env';
import { CLOCK, PLUGIN_CONFIG, SEQUELIZE, TABLES, type Clock } from '../src/core/tokens';
import { createSequelize } from '../src/database/database';
import { createMigrator } from '../src/database/migrator';
import { pluginTables, type PluginTables } from '../src/database/tables';
import type { Action } from '../src/engine/journey.types';
import { ACTION_REMOVED_REASON } from '../src/engine/step';
import { HOST_PORTS, type HostPorts } from '../src/host/host.ports';
import { MySqlAudience } from '../src/host/mysql';
import { JourneyStatsService } from '../src/journeys/journey-stats.service';
import { JourneyValidation } from '../src/journeys/journey-validation';
import { defineJourneyModels, JOURNEY_MODELS } from '../src/journeys/journey.model';
import { JourneyRepository } from '../src/journeys/journey.repository';
import { EXIT_ON_REQUEST_REASON, JourneysService } from '../src/journeys/journeys.service';
import { sequelizeSession, type SqlSession } from '../src/database/db';
import { EntryStore, type ExitFilter } from '../src/runtime/entry-store';
import { EntryScheduler } from '../src/runtime/entry-scheduler';
import { installHostSchema } from '../reference-host/schema';
import { DEMO, seedDemo } from '../reference-host/seed';

const A = DEMO.userA.userId;
const B = DEMO.userB.userId;
const L = DEMO.lists;
const F = DEMO.fields;
const S = DEMO.subscribers;
const ref = (s: { listId: number; subscriberId: number }) => ({ listId: s.listId, subscriberId: s.subscriberId });

/** A valid tree: Wait → Yes/No (age > 30) → Yes: update City / No: subscribe to VIP then Wait. */
const TREE: Action[] = [
  { id: 'wait1', type: 'wait', settings: { amount: 1, unit: 'days' } },
  {
    id: 'cond1',
    type: 'condition',
    settings: { match: 'all', rules: [{ attribute: `CustomField:${F.age}`, operator: 'greater_than', value: '30' }] },
    yes: [{ id: 'field1', type: 'update_custom_field', settings: { fieldId: F.city, value: 'Senior' } }],
    no: [
      { id: 'sub1', type: 'subscribe', settings: { listId: L.vip } },
      { id: 'wait2', type: 'wait', settings: { amount: 2, unit: 'hours' } },
    ],
  },
];

describe('JourneysService and JourneyStatsService (MariaDB)', () => {
  const prefix = `tj${randomBytes(4).toString('hex')}_`;
  const now = new Date('2026-11-27T10:00:00.000Z');
  const clock: Clock = { now: () => now };
  let sequelize: Sequelize;
  let tables: PluginTables;
  let moduleRef: TestingModule;
  let journeys: JourneysService;
  let stats: JourneyStatsService;
  /** The real entry store on this test's Sequelize pool (it takes any SqlSession; its own pool is not used by these methods). */
  const store = () => new EntryStore(sequelizeSession(sequelize) as never, tables);
  const scheduler = {
    schedule: jest.fn(async () => undefined),
    resumeJourney: jest.fn(async () => undefined),
    enrolManually: jest.fn(async (_u: number, _j: number, refs: unknown[]) => ({ enrolled: refs.length, refused: 0, entryIds: [], notEnrolled: [] })),
    retryEntry: jest.fn(async () => undefined),
    skipEntry: jest.fn(async () => undefined),
    // The real exits: these tests assert the entry rows they change.
    exitEntries: (filter: ExitFilter, reason: string, session?: SqlSession) => store().exit(filter, reason, clock.now(), session),
    deleteJourneyEntries: (session: SqlSession, journeyId: number) => store().deleteJourneyEntries(session, journeyId),
    livePositions: (session: SqlSession, journeyId: number) => store().livePositions(session, journeyId),
  };

  beforeAll(async () => {
    const config = loadConfig({ ...process.env, DB_TABLE_PREFIX: prefix });
    sequelize = createSequelize(config);
    tables = pluginTables(prefix);
    await installHostSchema(sequelize, prefix);
    await seedDemo(sequelize, prefix);
    await createMigrator(sequelize, prefix).up();
    const host = { audience: new MySqlAudience(sequelize, prefix) } as unknown as HostPorts;
    moduleRef = await Test.createTestingModule({
      providers: [
        { provide: SEQUELIZE, useValue: sequelize },
        { provide: TABLES, useValue: tables },
        { provide: CLOCK, useValue: clock },
        { provide: PLUGIN_CONFIG, useValue: config },
        { provide: HOST_PORTS, useValue: host },
        { provide: EntryScheduler, useValue: scheduler },
        { provide: JOURNEY_MODELS, useFactory: () => defineJourneyModels(sequelize, tables) },
        JourneyRepository,
        JourneyValidation,
        JourneysService,
        JourneyStatsService,
      ],
    }).compile();
    journeys = moduleRef.get(JourneysService);
    stats = moduleRef.get(JourneyStatsService);
  });

  afterAll(async () => {
    await moduleRef?.close();
    if (sequelize) {
      const owned = await sequelize.query<{ name: string }>(
        `SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE :like`,
        { replacements: { like: `${prefix.replace(/_/g, '\\_')}%` }, type: QueryTypes.SELECT },
      );
      for (const { name } of owned) await sequelize.query(`DROP TABLE \`${name}\``);
      await sequelize.close();
    }
  });

  beforeEach(() => jest.clearAllMocks());

  const rows = <T extends object = Record<string, unknown>>(sql: string, replacements: Record<string, unknown> = {}): Promise<T[]> =>
    sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT });

  const triggerRows = (journeyId: number) =>
    rows<{ TargetID: number; Enabled: number; TriggerType: string; RelOwnerUserID: number }>(
      `SELECT TargetID, Enabled, TriggerType, RelOwnerUserID FROM \`${tables.triggers}\` WHERE JourneyID = :journeyId ORDER BY TargetID`,
      { journeyId },
    );

  async function insertEntry(
    journeyId: number,
    ref: { listId: number; subscriberId: number },
    state: 'active' | 'waiting' | 'completed' | 'exited' | 'failed',
    actionId: string | null,
    extra: { lastError?: string; createdAt?: string; wakeAt?: string; attempts?: number } = {},
  ): Promise<number> {
    const live = ['active', 'waiting', 'failed'].includes(state);
    const [id] = await sequelize.query(
      `INSERT INTO \`${tables.entries}\`
         (JourneyID, RelOwnerUserID, ListID, SubscriberID, State, CurrentActionID, WakeAt, Attempts, JourneyVersion, ActiveLock, ChainID, LastError, CreatedAt, UpdatedAt, EndedAt)
       VALUES (:journeyId, :owner, :listId, :subscriberId, :state, :actionId, :wakeAt, :attempts, 1, :lock, 'test', :lastError, :createdAt, :createdAt, :endedAt)`,
      {
        replacements: {
          journeyId,
          owner: A,
          listId: ref.listId,
          subscriberId: ref.subscriberId,
          state,
          actionId,
          lock: live ? 1 : null,
          lastError: extra.lastError ?? null,
          wakeAt: extra.wakeAt ?? null,
          attempts: extra.attempts ?? 0,
          createdAt: extra.createdAt ?? '2026-11-26 09:00:00.000',
          endedAt: live ? null : '2026-11-26 12:00:00.000',
        },
        type: QueryTypes.INSERT,
      },
    );
    return Number(id);
  }

  async function insertLog(
    entryId: number,
    journeyId: number,
    actionId: string,
    type: string,
    status: string,
    result: string | null = null,
    detail: string | null = null,
  ) {
    await sequelize.query(
      `INSERT INTO \`${tables.log}\` (EntryID, JourneyID, ActionID, ActionType, Status, Result, Detail, CreatedAt, CompletedAt)
       VALUES (:entryId, :journeyId, :actionId, :type, :status, :result, :detail, '2026-11-26 09:00:01.000', :completedAt)`,
      {
        replacements: { entryId, journeyId, actionId, type, status, result, detail, completedAt: status === 'done' ? '2026-11-26 09:00:02.000' : null },
        type: QueryTypes.INSERT,
      },
    );
  }

  async function caught(promise: Promise<unknown>): Promise<JourneysException> {
    try {
      await promise;
    } catch (e) {
      if (e instanceof JourneysException) return e;
      throw e;
    }
    throw new Error('expected a JourneysException');
  }

  const newsletterJourney = (name = 'Welcome series') => journeys.create(A, { name, trigger: { type: 'subscription', listIds: [L.newsletter] } });

  describe('create', () => {
    it('creates a Disabled journey with a Standard Webhooks secret and its trigger index rows', async () => {
      const j = await journeys.create(A, {
        name: '  Onboarding  ',
        notes: 'for new customers',
        trigger: { type: 'subscription', listIds: [L.newsletter, L.customers] },
      });
      expect(j).toMatchObject({
        name: 'Onboarding',
        notes: 'for new customers',
        status: 'Disabled',
        reEntry: 'allow',
        version: 1,
        actions: [],
        ownerUserId: A,
      });
      expect(j.trigger).toEqual({ type: 'subscription', listIds: [L.newsletter, L.customers] });
      expect(j.webhookSecret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
      expect(Buffer.from(j.webhookSecret.slice(6), 'base64')).toHaveLength(24);
      expect(await triggerRows(j.journeyId)).toEqual([
        { TargetID: L.newsletter, Enabled: 0, TriggerType: 'subscription', RelOwnerUserID: A },
        { TargetID: L.customers, Enabled: 0, TriggerType: 'subscription', RelOwnerUserID: A },
      ]);
    });

    it('refuses a missing name and a bad trigger together, creating nothing', async () => {
      const [{ n: before }] = await rows<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${tables.journeys}\``);
      const e = await caught(journeys.create(A, { name: '   ', trigger: { type: 'teleport' } }));
      expect(e.code).toBe(JourneysErrorCode.ValidationFailed);
      expect(e.violations.length).toBeGreaterThanOrEqual(2);
      expect(e.violations.map((v) => v.code)).toContain('name_required');
      const [{ n: after }] = await rows<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${tables.journeys}\``);
      expect(after).toBe(before);
    });

    it('refuses a name longer than 250 characters', async () => {
      const e = await caught(journeys.create(A, { name: 'x'.repeat(251), trigger: { type: 'manual' } }));
      expect(e.violations.map((v) => v.code)).toContain('name_too_long');
    });

    it("refuses another user's list, naming it", async () => {
      const e = await caught(journeys.create(A, { name: 'Sneaky', trigger: { type: 'subscription', listIds: [L.newsletter, L.leads] } }));
      expect(e.code).toBe(JourneysErrorCode.ValidationFailed);
      expect(e.violations).toHaveLength(1);
      expect(e.violations[0].message).toContain(String(L.leads));
    });

    it("refuses another user's email in an open trigger", async () => {
      const e = await caught(journeys.create(A, { name: 'Opens', trigger: { type: 'email_opened', emailIds: [DEMO.emails.leadsIntro] } }));
      expect(e.violations[0].message).toContain(String(DEMO.emails.leadsIntro));
    });
  });

  describe('updateInfo and the trigger index', () => {
    it('rewrites the trigger rows when the trigger changes and keeps Enabled in step with the status', async () => {
      const j = await newsletterJourney();
      await journeys.updateInfo(A, j.journeyId, { trigger: { type: 'unsubscription', listIds: 'any' } });
      expect(await triggerRows(j.journeyId)).toEqual([{ TargetID: 0, Enabled: 0, TriggerType: 'unsubscription', RelOwnerUserID: A }]);

      await journeys.saveActions(A, j.journeyId, TREE);
      await journeys.enable(A, j.journeyId);
      expect((await triggerRows(j.journeyId)).map((r) => r.Enabled)).toEqual([1]);

      await journeys.updateInfo(A, j.journeyId, { trigger: { type: 'email_opened', emailIds: [DEMO.emails.welcome, DEMO.emails.newsletter] } });
      expect(await triggerRows(j.journeyId)).toEqual([
        { TargetID: DEMO.emails.welcome, Enabled: 1, TriggerType: 'email_opened', RelOwnerUserID: A },
        { TargetID: DEMO.emails.newsletter, Enabled: 1, TriggerType: 'email_opened', RelOwnerUserID: A },
      ]);

      await journeys.disable(A, j.journeyId);
      expect((await triggerRows(j.journeyId)).map((r) => r.Enabled)).toEqual([0, 0]);

      await journeys.updateInfo(A, j.journeyId, { trigger: { type: 'manual' } });
      expect(await triggerRows(j.journeyId)).toEqual([]);
    });

    it('changes only the given fields, bumping the version only for what the runtime reads', async () => {
      const j = await newsletterJourney('Info');
      expect(await journeys.updateInfo(A, j.journeyId, { notes: 'hello' })).toMatchObject({ notes: 'hello', version: 1 });
      expect(await journeys.updateInfo(A, j.journeyId, { name: 'Info', trigger: j.trigger })).toMatchObject({ version: 1 });
      const updated = await journeys.updateInfo(A, j.journeyId, { reEntry: 'once' });
      expect(updated).toMatchObject({ name: 'Info', notes: 'hello', reEntry: 'once', trigger: j.trigger, version: 2 });
      const e = await caught(journeys.updateInfo(A, j.journeyId, { name: '', reEntry: 'sometimes' as never }));
      expect(e.violations.map((v) => v.code).sort()).toEqual(['name_required', 'reentry_invalid']);
    });
  });

  describe('saveActions', () => {
    it('refuses an invalid tree listing every violation, and leaves the journey unchanged', async () => {
      const j = await newsletterJourney('Invalid');
      const e = await caught(
        journeys.saveActions(A, j.journeyId, [
          { id: 'x1', type: 'teleport', settings: {} },
          { id: 'x2', type: 'wait', settings: {} },
          { id: 'x3', type: 'subscribe', settings: { listId: L.leads } },
          { id: 'x4', type: 'update_custom_field', settings: { fieldId: F.company, value: 'x' } },
          { id: 'x5', type: 'start_journey', settings: { journeyId: 999999 } },
        ]),
      );
      expect(e.code).toBe(JourneysErrorCode.InvalidActions);
      const ids = new Set(e.violations.map((v) => v.actionId));
      for (const id of ['x1', 'x2', 'x3', 'x4', 'x5']) expect(ids).toContain(id);
      const after = await journeys.get(A, j.journeyId);
      expect(after).toMatchObject({ version: 1, actions: [] });
    });

    it('bumps the version on every save and refuses a stale expected version', async () => {
      const j = await newsletterJourney('Versions');
      const first = await journeys.saveActions(A, j.journeyId, TREE, 1);
      expect(first.version).toBe(2);
      expect((await journeys.get(A, j.journeyId)).actions.map((a) => a.id)).toEqual(['wait1', 'cond1']);
      const second = await journeys.saveActions(A, j.journeyId, TREE.slice(0, 1));
      expect(second.version).toBe(3);
      const e = await caught(journeys.saveActions(A, j.journeyId, TREE, 2));
      expect(e.code).toBe(JourneysErrorCode.Conflict);
      expect((await journeys.get(A, j.journeyId)).version).toBe(3);
    });

    it('lets exactly one of two concurrent saves of the same version through', async () => {
      const j = await newsletterJourney('Race');
      const results = await Promise.allSettled([journeys.saveActions(A, j.journeyId, TREE, 1), journeys.saveActions(A, j.journeyId, TREE.slice(0, 1), 1)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
      expect((rejected.reason as JourneysException).code).toBe(JourneysErrorCode.Conflict);
      expect((await journeys.get(A, j.journeyId)).version).toBe(2);
    });

    it('gives ids to new actions and keeps the given ones', async () => {
      const j = await newsletterJourney('Ids');
      const saved = await journeys.saveActions(A, j.journeyId, [{ ...TREE[0] }, { type: 'exit_this_journey', settings: {} }]);
      expect(saved.actions[0].id).toBe('wait1');
      expect(saved.actions[1].id).toMatch(/\S/);
    });

    it('refuses a Start Journey cycle across journeys', async () => {
      const one = await journeys.create(A, { name: 'One', trigger: { type: 'manual' } });
      const two = await journeys.create(A, { name: 'Two', trigger: { type: 'manual' } });
      await journeys.saveActions(A, one.journeyId, [{ id: 'go2', type: 'start_journey', settings: { journeyId: two.journeyId } }]);
      const e = await caught(journeys.saveActions(A, two.journeyId, [{ id: 'go1', type: 'start_journey', settings: { journeyId: one.journeyId } }]));
      expect(e.code).toBe(JourneysErrorCode.InvalidActions);
      expect(e.violations.length).toBeGreaterThanOrEqual(1);
    });

    it("refuses a Start Journey to another user's journey as dangling", async () => {
      const theirs = await journeys.create(B, { name: 'Theirs', trigger: { type: 'manual' } });
      const mine = await journeys.create(A, { name: 'Mine', trigger: { type: 'manual' } });
      const e = await caught(journeys.saveActions(A, mine.journeyId, [{ id: 'go', type: 'start_journey', settings: { journeyId: theirs.journeyId } }]));
      expect(e.violations.map((v) => v.actionId)).toEqual(['go']);
    });
  });

  describe('live edits', () => {
    it('previews and then exits the live entries at removed actions, leaving the others where they are', async () => {
      const j = await newsletterJourney('Live edit');
      await journeys.saveActions(A, j.journeyId, TREE);
      const atWait2 = await insertEntry(j.journeyId, S.alice, 'waiting', 'wait2');
      const failedAtSub1 = await insertEntry(j.journeyId, S.bob, 'failed', 'sub1', { lastError: 'host down' });
      const atWait1 = await insertEntry(j.journeyId, S.carol, 'waiting', 'wait1');
      const doneBefore = await insertEntry(j.journeyId, S.dave, 'completed', 'wait2');

      // Remove the whole No branch.
      const edited: Action[] = [TREE[0], { ...(TREE[1] as Extract<Action, { type: 'condition' }>), no: [] }];
      const preview = await journeys.previewActions(A, j.journeyId, edited);
      expect(preview).toEqual({
        violations: [],
        affected: 2,
        removedActionIds: expect.arrayContaining(['sub1', 'wait2']),
        newActions: [],
        reached: { count: 0, upTo: false },
      });
      expect(preview.removedActionIds).toHaveLength(2);
      // The preview saved nothing.
      expect((await journeys.get(A, j.journeyId)).version).toBe(2);

      const saved = await journeys.saveActions(A, j.journeyId, edited, 2);
      expect(saved).toMatchObject({ version: 3, exitedEntries: 2 });

      const byId = new Map(
        (
          await rows<{ EntryID: number; State: string; ActiveLock: number | null; ExitReason: string | null; EndedAt: Date | null }>(
            `SELECT EntryID, State, ActiveLock, ExitReason, EndedAt FROM \`${tables.entries}\` WHERE JourneyID = :id`,
            { id: j.journeyId },
          )
        ).map((r) => [Number(r.EntryID), r]),
      );
      for (const id of [atWait2, failedAtSub1]) {
        expect(byId.get(id)).toMatchObject({ State: 'exited', ActiveLock: null, ExitReason: ACTION_REMOVED_REASON });
        expect(byId.get(id)!.EndedAt).toEqual(now);
      }
      expect(byId.get(atWait1)).toMatchObject({ State: 'waiting', ActiveLock: 1, ExitReason: null });
      expect(byId.get(doneBefore)).toMatchObject({ State: 'completed', ExitReason: null });
    });

    it('reports the violations of an invalid tree in the preview without throwing', async () => {
      const j = await newsletterJourney('Preview invalid');
      const preview = await journeys.previewActions(A, j.journeyId, [{ id: 'bad', type: 'subscribe', settings: { listId: L.leads } }]);
      expect(preview.violations.map((v) => v.actionId)).toEqual(['bad']);
      expect(preview.affected).toBe(0);
    });
  });

  describe('enable, disable, copy, delete', () => {
    it('refuses to enable an empty journey', async () => {
      const j = await newsletterJourney('Empty');
      const e = await caught(journeys.enable(A, j.journeyId));
      expect(e.code).toBe(JourneysErrorCode.InvalidActions);
      expect(e.message).toMatch(/at least one action/);
      expect((await journeys.get(A, j.journeyId)).status).toBe('Disabled');
      expect(scheduler.resumeJourney).not.toHaveBeenCalled();
    });

    it('enables (resuming frozen entries through the scheduler) and disables without touching entries', async () => {
      const j = await newsletterJourney('Toggle');
      await journeys.saveActions(A, j.journeyId, TREE);
      const entry = await insertEntry(j.journeyId, S.alice, 'waiting', 'wait1');

      const enabled = await journeys.enable(A, j.journeyId);
      expect(enabled.status).toBe('Enabled');
      expect(scheduler.resumeJourney).toHaveBeenCalledWith(j.journeyId);
      expect((await triggerRows(j.journeyId)).map((r) => r.Enabled)).toEqual([1]);

      const disabled = await journeys.disable(A, j.journeyId);
      expect(disabled.status).toBe('Disabled');
      expect((await triggerRows(j.journeyId)).map((r) => r.Enabled)).toEqual([0]);
      const [after] = await rows<{ State: string; CurrentActionID: string }>(
        `SELECT State, CurrentActionID FROM \`${tables.entries}\` WHERE EntryID = :entry`,
        { entry },
      );
      expect(after).toEqual({ State: 'waiting', CurrentActionID: 'wait1' });
    });

    it('copies a journey as "Copy of …", Disabled, with the same actions and a new secret', async () => {
      const j = await newsletterJourney('Original');
      await journeys.updateInfo(A, j.journeyId, { notes: 'n', reEntry: 'once' });
      await journeys.saveActions(A, j.journeyId, TREE);
      await journeys.enable(A, j.journeyId);
      const copy = await journeys.copy(A, j.journeyId);
      expect(copy).toMatchObject({ name: 'Copy of Original', notes: 'n', reEntry: 'once', status: 'Disabled', version: 1, trigger: j.trigger });
      expect(copy.actions).toEqual((await journeys.get(A, j.journeyId)).actions);
      expect(copy.journeyId).not.toBe(j.journeyId);
      expect(copy.webhookSecret).not.toBe(j.webhookSecret);
      expect(await triggerRows(copy.journeyId)).toEqual([{ TargetID: L.newsletter, Enabled: 0, TriggerType: 'subscription', RelOwnerUserID: A }]);
    });

    it('refuses to delete an enabled journey or one another journey starts, then deletes everything of it', async () => {
      const j = await newsletterJourney('Doomed');
      await journeys.saveActions(A, j.journeyId, TREE);
      await journeys.enable(A, j.journeyId);
      expect((await caught(journeys.delete(A, j.journeyId))).code).toBe(JourneysErrorCode.Conflict);
      await journeys.disable(A, j.journeyId);

      const starter = await journeys.create(A, { name: 'Starter', trigger: { type: 'manual' } });
      await journeys.saveActions(A, starter.journeyId, [{ id: 'go', type: 'start_journey', settings: { journeyId: j.journeyId } }]);
      const refused = await caught(journeys.delete(A, j.journeyId));
      expect(refused.code).toBe(JourneysErrorCode.Conflict);
      expect(refused.message).toContain('"Starter"');
      await journeys.saveActions(A, starter.journeyId, [{ id: 'bye', type: 'exit_this_journey', settings: {} }]);

      const entry = await insertEntry(j.journeyId, S.alice, 'waiting', 'wait1');
      await insertLog(entry, j.journeyId, 'wait1', 'wait', 'done');
      await sequelize.query(
        `INSERT INTO \`${tables.webhookDeliveries}\` (DeliveryID, EntryID, JourneyID, ActionID, URL, CreatedAt, UpdatedAt)
         VALUES (:d, :entry, :j, 'hook', 'https://example.com', NOW(3), NOW(3))`,
        { replacements: { d: `msg_${entry}`, entry, j: j.journeyId } },
      );

      await journeys.delete(A, j.journeyId);
      for (const [table, column] of [
        [tables.journeys, 'JourneyID'],
        [tables.triggers, 'JourneyID'],
        [tables.entries, 'JourneyID'],
        [tables.log, 'JourneyID'],
        [tables.webhookDeliveries, 'JourneyID'],
      ]) {
        const [{ n }] = await rows<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${table}\` WHERE ${column} = :id`, { id: j.journeyId });
        expect({ table, n: Number(n) }).toEqual({ table, n: 0 });
      }
      expect((await caught(journeys.get(A, j.journeyId))).code).toBe(JourneysErrorCode.NotFound);
    });
  });

  describe('tenant isolation', () => {
    it("answers NotFound to user B on every method for user A's journey and entries", async () => {
      const j = await newsletterJourney('Private');
      await journeys.saveActions(A, j.journeyId, TREE);
      const entry = await insertEntry(j.journeyId, S.alice, 'failed', 'sub1', { lastError: 'boom' });
      const calls: [string, () => Promise<unknown>][] = [
        ['get', () => journeys.get(B, j.journeyId)],
        ['updateInfo', () => journeys.updateInfo(B, j.journeyId, { name: 'Mine now' })],
        ['previewActions', () => journeys.previewActions(B, j.journeyId, [])],
        ['saveActions', () => journeys.saveActions(B, j.journeyId, [])],
        ['enable', () => journeys.enable(B, j.journeyId)],
        ['disable', () => journeys.disable(B, j.journeyId)],
        ['copy', () => journeys.copy(B, j.journeyId)],
        ['delete', () => journeys.delete(B, j.journeyId)],
        ['enrolSubscribers', () => journeys.enrolSubscribers(B, j.journeyId, [ref(S.frank)])],
        ['exitSubscribers', () => journeys.exitSubscribers(B, j.journeyId, [ref(S.frank)])],
        ['actionCounts', () => stats.actionCounts(B, j.journeyId)],
        ['funnel', () => stats.funnel(B, j.journeyId)],
        ['entriesSummary', () => stats.entriesSummary(B, j.journeyId)],
        ['failedEntries', () => stats.failedEntries(B, j.journeyId)],
        ['retryEntry', () => stats.retryEntry(B, entry)],
        ['skipEntry', () => stats.skipEntry(B, entry)],
      ];
      for (const [name, call] of calls) {
        const e = await caught(call());
        expect({ name, code: e.code }).toEqual({ name, code: JourneysErrorCode.NotFound });
      }
      expect((await journeys.list(B)).map((s) => s.journeyId)).not.toContain(j.journeyId);
      expect(await stats.history(B, S.alice.emailAddress)).toEqual([]);
      expect(await journeys.get(A, j.journeyId)).toMatchObject({ name: 'Private', status: 'Disabled', version: 2 });
      expect(scheduler.retryEntry).not.toHaveBeenCalled();
      expect(scheduler.skipEntry).not.toHaveBeenCalled();
      expect(scheduler.enrolManually).not.toHaveBeenCalled();
    });
  });

  describe('stats and history', () => {
    let journeyId: number;
    let entries: Record<'alice' | 'bob' | 'carol' | 'dave' | 'aliceCustomer', number>;

    beforeAll(async () => {
      const j = await journeys.create(A, { name: 'Stats', trigger: { type: 'subscription', listIds: [L.newsletter, L.customers] } });
      journeyId = j.journeyId;
      await journeys.saveActions(A, journeyId, TREE);
      entries = {
        alice: await insertEntry(journeyId, S.alice, 'completed', null, { createdAt: '2026-11-20 09:00:00.000' }),
        bob: await insertEntry(journeyId, S.bob, 'failed', 'sub1', { lastError: 'Host database unreachable' }),
        carol: await insertEntry(journeyId, S.carol, 'waiting', 'wait1'),
        dave: await insertEntry(journeyId, S.dave, 'waiting', 'wait2'),
        aliceCustomer: await insertEntry(journeyId, S.aliceCustomer, 'waiting', 'wait1'),
      };
      await insertLog(entries.alice, journeyId, 'wait1', 'wait', 'done', '2026-11-21T09:00:00.000Z');
      await insertLog(entries.alice, journeyId, 'cond1', 'condition', 'done', 'yes');
      await insertLog(entries.alice, journeyId, 'field1', 'update_custom_field', 'done');
      await insertLog(entries.bob, journeyId, 'wait1', 'wait', 'done');
      await insertLog(entries.bob, journeyId, 'cond1', 'condition', 'done', 'no');
      await insertLog(entries.bob, journeyId, 'sub1', 'subscribe', 'failed', null, 'Host database unreachable');
      await insertLog(entries.dave, journeyId, 'wait1', 'wait', 'done');
      await insertLog(entries.dave, journeyId, 'cond1', 'condition', 'done', 'no');
      await insertLog(entries.dave, journeyId, 'sub1', 'subscribe', 'done');
      await insertLog(entries.dave, journeyId, 'wait2', 'wait', 'done', '2026-11-26T11:00:00.000Z');
      await insertLog(entries.carol, journeyId, 'wait1', 'wait', 'done', '2026-11-27T09:00:00.000Z');
      await insertLog(entries.aliceCustomer, journeyId, 'wait1', 'wait', 'done', '2026-11-27T09:00:00.000Z');
    });

    it('counts per action: live entries at it, runs that moved on (not those still waiting), failed entries parked there', async () => {
      expect(await stats.actionCounts(A, journeyId)).toEqual({
        wait1: { current: 2, passed: 3, failed: 0, retrying: 0, skipped: 0 },
        // The Yes/No's runs by the branch they took, from the Result of its log rows.
        cond1: { current: 0, passed: 3, failed: 0, retrying: 0, skipped: 0, branches: { yes: 1, no: 2 } },
        field1: { current: 0, passed: 1, failed: 0, retrying: 0, skipped: 0 },
        sub1: { current: 1, passed: 1, failed: 1, retrying: 0, skipped: 0 },
        wait2: { current: 1, passed: 0, failed: 0, retrying: 0, skipped: 0 },
      });
    });

    it('gives the funnel in tree order with branches and depth', async () => {
      const funnel = await stats.funnel(A, journeyId);
      expect(funnel).toMatchObject({ entered: 5, converted: 0, hasGoal: false });
      expect(funnel.steps.map((s) => [s.actionId, s.depth, s.branch, s.branchLabel, s.parentActionId, s.reached])).toEqual([
        ['wait1', 0, null, null, null, 5],
        ['cond1', 0, null, null, null, 3],
        ['field1', 1, 'yes', 'Yes', 'cond1', 1],
        ['sub1', 1, 'no', 'No', 'cond1', 2],
        ['wait2', 1, 'no', 'No', 'cond1', 1],
      ]);
      expect(funnel.steps.every((s) => s.label.length > 0)).toBe(true);
    });

    it('summarises entries by state', async () => {
      expect(await stats.entriesSummary(A, journeyId)).toEqual({
        active: 0,
        waiting: 3,
        retrying: 0,
        completed: 1,
        exited: 0,
        failed: 1,
        converted: 0,
        total: 5,
        conversionRate: 0,
      });
    });

    it('shows the active and total counts in the journey list', async () => {
      const summary = (await journeys.list(A)).find((s) => s.journeyId === journeyId);
      expect(summary).toMatchObject({
        name: 'Stats',
        status: 'Disabled',
        activeCount: 4,
        totalCount: 5,
        convertedCount: 0,
        conversionRate: 0,
        goal: null,
        triggerType: 'subscription',
      });
    });

    it("gives a subscriber's history across the owner's lists with every action run", async () => {
      const history = await stats.history(A, 'ALICE@example.com');
      expect(history.map((h) => [h.listId, h.listName, h.subscriberId])).toEqual(
        expect.arrayContaining([
          [L.newsletter, 'Newsletter', S.alice.subscriberId],
          [L.customers, 'Customers', S.aliceCustomer.subscriberId],
        ]),
      );
      const onNewsletter = history.find((h) => h.listId === L.newsletter)!;
      const entry = onNewsletter.entries.find((e) => e.journeyId === journeyId)!;
      expect(entry).toMatchObject({ entryId: entries.alice, journeyName: 'Stats', state: 'completed' });
      expect(entry.log.map((l) => [l.actionId, l.actionType, l.status, l.result])).toEqual([
        ['wait1', 'wait', 'done', '2026-11-21T09:00:00.000Z'],
        ['cond1', 'condition', 'done', 'yes'],
        ['field1', 'update_custom_field', 'done', null],
      ]);
      expect(entry.log.every((l) => l.label.length > 0 && l.at instanceof Date)).toBe(true);
      expect(await stats.history(A, 'nobody@example.com')).toEqual([]);
      // Frank is user B's subscriber.
      expect(await stats.history(A, S.frank.emailAddress)).toEqual([]);
    });

    it('lists failed entries with the email, action and error; retry and skip go to the scheduler', async () => {
      const failed = await stats.failedEntries(A, journeyId);
      expect(failed).toEqual([
        expect.objectContaining({
          entryId: entries.bob,
          listId: L.newsletter,
          subscriberId: S.bob.subscriberId,
          emailAddress: S.bob.emailAddress,
          actionId: 'sub1',
          status: 'failed',
          error: 'Host database unreachable',
          nextAttemptAt: null,
        }),
      ]);
      expect(failed[0].actionLabel.length).toBeGreaterThan(0);

      await stats.retryEntry(A, entries.bob);
      expect(scheduler.retryEntry).toHaveBeenCalledWith(entries.bob, A);
      await stats.skipEntry(A, entries.bob);
      expect(scheduler.skipEntry).toHaveBeenCalledWith(entries.bob, A);

      const notFailed = await caught(stats.retryEntry(A, entries.carol));
      expect(notFailed.code).toBe(JourneysErrorCode.Conflict);
    });
  });

  describe('entries retrying an external action', () => {
    let journeyId: number;
    let entries: Record<'failed' | 'retryingSoon' | 'retryingLater' | 'waitWithError' | 'waiting' | 'subscribed', number>;

    beforeAll(async () => {
      journeyId = (await newsletterJourney('Retries')).journeyId;
      await journeys.saveActions(A, journeyId, TREE);
      entries = {
        failed: await insertEntry(journeyId, S.alice, 'failed', 'sub1', { lastError: 'List 9 is gone', attempts: 1 }),
        retryingLater: await insertEntry(journeyId, S.bob, 'waiting', 'sub1', {
          lastError: 'attempt 3 failed: subscribe: connect ECONNREFUSED',
          attempts: 3,
          wakeAt: '2026-11-27 10:02:00.000',
        }),
        retryingSoon: await insertEntry(journeyId, S.carol, 'waiting', 'sub1', {
          lastError: 'attempt 1 failed: subscribe: HTTP 503',
          attempts: 1,
          wakeAt: '2026-11-27 10:00:20.000',
        }),
        // An error left on an entry waiting at a Wait is not a retry: only external actions retry.
        waitWithError: await insertEntry(journeyId, S.dave, 'waiting', 'wait2', { lastError: 'old error', wakeAt: '2026-11-27 12:00:00.000' }),
        waiting: await insertEntry(journeyId, S.aliceCustomer, 'waiting', 'wait1', { wakeAt: '2026-11-28 10:00:00.000' }),
        subscribed: await insertEntry(journeyId, S.erin, 'completed', null),
      };
      await insertLog(entries.subscribed, journeyId, 'sub1', 'subscribe', 'done');
      await insertLog(entries.failed, journeyId, 'sub1', 'subscribe', 'failed', null, 'List 9 is gone');
      await insertLog(entries.retryingLater, journeyId, 'sub1', 'subscribe', 'pending');
      await insertLog(entries.retryingSoon, journeyId, 'sub1', 'subscribe', 'pending');
      await insertLog(entries.waitWithError, journeyId, 'wait2', 'wait', 'done');
      await insertLog(entries.waiting, journeyId, 'wait1', 'wait', 'done');
    });

    it('lists failed entries first, then retrying ones by next attempt, with attempts and the next attempt time', async () => {
      const listed = await stats.failedEntries(A, journeyId);
      expect(listed.map((e) => [e.entryId, e.status, e.attempts, e.maxAttempts, e.nextAttemptAt?.toISOString() ?? null])).toEqual([
        [entries.failed, 'failed', 1, 8, null],
        [entries.retryingSoon, 'retrying', 1, 8, '2026-11-27T10:00:20.000Z'],
        [entries.retryingLater, 'retrying', 3, 8, '2026-11-27T10:02:00.000Z'],
      ]);
      expect(listed[1]).toMatchObject({ emailAddress: S.carol.emailAddress, actionId: 'sub1', error: 'attempt 1 failed: subscribe: HTTP 503' });
    });

    it('counts retrying entries apart from the waiting ones, in the summary and at their action (where they have not passed)', async () => {
      expect(await stats.entriesSummary(A, journeyId)).toEqual({
        active: 0,
        waiting: 2,
        retrying: 2,
        completed: 1,
        exited: 0,
        failed: 1,
        converted: 0,
        total: 6,
        conversionRate: 0,
      });
      const counts = await stats.actionCounts(A, journeyId);
      // Erin's subscribe passed; the retrying ones, still at it, do not take that away.
      expect(counts.sub1).toEqual({ current: 3, passed: 1, failed: 1, retrying: 2, skipped: 0 });
      expect(counts.wait2).toEqual({ current: 1, passed: 0, failed: 0, retrying: 0, skipped: 0 });
    });

    it('hands retry and skip of a retrying entry to the scheduler; refuses one that is merely waiting, and an entry of another journey', async () => {
      await stats.retryEntry(A, entries.retryingSoon, journeyId);
      expect(scheduler.retryEntry).toHaveBeenCalledWith(entries.retryingSoon, A);
      await stats.skipEntry(A, entries.retryingLater);
      expect(scheduler.skipEntry).toHaveBeenCalledWith(entries.retryingLater, A);

      for (const id of [entries.waitWithError, entries.waiting]) {
        const refused = await caught(stats.retryEntry(A, id));
        expect(refused.code).toBe(JourneysErrorCode.Conflict);
        expect(refused.message).toContain('is waiting, not failed or retrying');
      }
      const other = (await newsletterJourney('Other')).journeyId;
      expect((await caught(stats.skipEntry(A, entries.retryingSoon, other))).code).toBe(JourneysErrorCode.NotFound);
      expect((await caught(stats.retryEntry(B, entries.retryingSoon))).code).toBe(JourneysErrorCode.NotFound);
      expect(scheduler.retryEntry).toHaveBeenCalledTimes(1);
      expect(scheduler.skipEntry).toHaveBeenCalledTimes(1);
    });
  });

  describe('exiting subscribers on request', () => {
    it('exits the live entry of each given subscriber and leaves the others and ended entries alone', async () => {
      const j = await newsletterJourney('Exit on request');
      await journeys.saveActions(A, j.journeyId, TREE);
      const alice = await insertEntry(j.journeyId, S.alice, 'waiting', 'wait1');
      const bob = await insertEntry(j.journeyId, S.bob, 'waiting', 'wait1');
      const carolDone = await insertEntry(j.journeyId, S.carol, 'completed', 'wait2');

      expect(await journeys.exitSubscribers(A, j.journeyId, [ref(S.alice), ref(S.carol), { listId: L.newsletter, subscriberId: 999 }])).toEqual({ exited: 1 });
      const states = await rows<{ EntryID: number; State: string; ActiveLock: number | null; ExitReason: string | null }>(
        `SELECT EntryID, State, ActiveLock, ExitReason FROM \`${tables.entries}\` WHERE JourneyID = :id ORDER BY EntryID`,
        { id: j.journeyId },
      );
      expect(states).toEqual([
        { EntryID: alice, State: 'exited', ActiveLock: null, ExitReason: EXIT_ON_REQUEST_REASON },
        { EntryID: bob, State: 'waiting', ActiveLock: 1, ExitReason: null },
        { EntryID: carolDone, State: 'completed', ActiveLock: null, ExitReason: null },
      ]);
      expect(await journeys.exitSubscribers(A, j.journeyId, [ref(S.alice)])).toEqual({ exited: 0 });
      expect((await caught(journeys.exitSubscribers(A, j.journeyId, [ref(S.frank)]))).code).toBe(JourneysErrorCode.NotFound);
    });
  });

  describe('manual enrolment', () => {
    it("enrols the owner's subscribed subscribers through the scheduler, names the unsubscribed, and refuses unknown or foreign ones", async () => {
      const j = await journeys.create(A, { name: 'Manual', trigger: { type: 'manual' } });
      expect(await journeys.enrolSubscribers(A, j.journeyId, [ref(S.alice), ref(S.carol), ref(S.erin)])).toEqual({
        enrolled: 2,
        refused: 0,
        entryIds: [],
        notEnrolled: [
          {
            ref: ref(S.carol),
            reason: 'not_subscribed',
            detail: 'Unsubscribed',
            message: `Subscriber ${S.carol.subscriberId} of list ${S.carol.listId} is not subscribed to the list (Unsubscribed)`,
          },
        ],
      });
      expect(scheduler.enrolManually).toHaveBeenCalledWith(A, j.journeyId, [ref(S.alice), ref(S.erin)], undefined);

      expect((await caught(journeys.enrolSubscribers(A, j.journeyId, [S.alice, S.frank]))).code).toBe(JourneysErrorCode.NotFound);
      const unknown = await caught(journeys.enrolSubscribers(A, j.journeyId, [{ listId: L.newsletter, subscriberId: 999 }]));
      expect(unknown.code).toBe(JourneysErrorCode.ValidationFailed);
      expect(unknown.message).toContain('999');
      expect(scheduler.enrolManually).toHaveBeenCalledTimes(1);
    });
  });
});
