/**
 * The API commands (POST /journeys/api) against the reference host, real
 * MariaDB and Redis: each command's happy path with its effect in the
 * database, and the main refusals in the API's error shape.
 */
import request from 'supertest';
import { ApiCommands } from '../src/api/api-commands.service';
import { pluginTables, type PluginTables } from '../src/database/tables';
import { findManifestDir, loadManifest } from '../src/plugin/manifest';
import { startReferenceHost, type RefHost } from './support/reference-host';

const WAIT_A_DAY = { id: 'wait-1', type: 'wait', settings: { amount: 1, unit: 'days' } };

describe('API commands (POST /journeys/api)', () => {
  let host: RefHost;
  let t: PluginTables;
  let userA: number;
  let userB: number;

  const api = (body: Record<string, unknown>, userId: number | null = userA) => {
    const req = request(host.server).post('/journeys/api');
    if (userId !== null) req.set('Cookie', host.cookieFor(userId));
    return req.send(body);
  };

  /** A journey of user A with a manual trigger, one Wait, enabled. */
  async function enabledManualJourney(name = 'Manual one'): Promise<number> {
    const created = await api({ Command: 'journey.create', Name: name, Trigger: { type: 'manual' } }).expect(200);
    const journeyId = created.body.Journey.journeyId as number;
    await api({ Command: 'journey.actions.update', JourneyID: journeyId, Actions: [WAIT_A_DAY] }).expect(200);
    await api({ Command: 'journey.enable', JourneyID: journeyId }).expect(200);
    return journeyId;
  }

  beforeAll(async () => {
    host = await startReferenceHost();
    t = pluginTables(host.prefix);
    userA = host.demo.userA.userId;
    userB = host.demo.userB.userId;
  });
  afterAll(async () => {
    await host?.stop();
  });

  describe('journeys', () => {
    let journeyId: number;

    it('journey.create makes a disabled journey of the logged-in user, whatever UserID the body names', async () => {
      const res = await api({
        Command: 'journey.create',
        Name: 'Welcome series',
        Notes: 'made over the API',
        Trigger: { type: 'subscription', listIds: [host.demo.lists.newsletter] },
      }).expect(200);
      expect(res.body).toMatchObject({ Success: true, Journey: { name: 'Welcome series', status: 'Disabled', ownerUserId: userA, version: 1 } });
      journeyId = res.body.Journey.journeyId;
      const [row] = await host.query<{ RelOwnerUserID: number; Name: string }>(`SELECT RelOwnerUserID, Name FROM \`${t.journeys}\` WHERE JourneyID = ?`, [
        journeyId,
      ]);
      expect(row).toEqual({ RelOwnerUserID: userA, Name: 'Welcome series' });
    });

    it('refuses an owner in the parameters: UserID is an unknown parameter', async () => {
      const res = await api({ Command: 'journey.create', Name: 'x', Trigger: { type: 'manual' }, UserID: userB }).expect(400);
      expect(res.body).toEqual({ Success: false, Errors: [expect.objectContaining({ Code: 2, Message: 'Unknown parameter UserID for journey.create' })] });
    });

    it('journey.create takes a form body with JSON text for the trigger (with the X-Requested-With header)', async () => {
      const res = await request(host.server)
        .post('/journeys/api')
        .set('Cookie', host.cookieFor(userA))
        .set('X-Requested-With', 'XMLHttpRequest')
        .type('form')
        .send({ Command: 'journey.create', Name: 'From a form', Trigger: JSON.stringify({ type: 'manual' }), ReEntry: 'once' })
        .expect(200);
      expect(res.body.Journey).toMatchObject({ name: 'From a form', reEntry: 'once', trigger: { type: 'manual' } });
    });

    it('journey.get answers the journey with its trigger and actions', async () => {
      const res = await api({ Command: 'journey.get', JourneyID: journeyId }).expect(200);
      expect(res.body.Journey).toMatchObject({
        journeyId,
        name: 'Welcome series',
        trigger: { type: 'subscription', listIds: [host.demo.lists.newsletter] },
        actions: [],
      });
    });

    it('journey.list lists only the user’s journeys', async () => {
      await api({ Command: 'journey.create', Name: 'B’s journey', Trigger: { type: 'manual' } }, userB).expect(200);
      const res = await api({ Command: 'journey.list' }).expect(200);
      const names = res.body.Journeys.map((j: { name: string }) => j.name);
      expect(names).toEqual(expect.arrayContaining(['Welcome series', 'From a form']));
      expect(names).not.toContain('B’s journey');
      expect(res.body.TotalCount).toBe(names.length);
    });

    it('journey.update changes only the given fields', async () => {
      const res = await api({ Command: 'journey.update', JourneyID: journeyId, Name: 'Welcome series v2' }).expect(200);
      expect(res.body.Journey).toMatchObject({ name: 'Welcome series v2', notes: 'made over the API' });
    });

    it('journey.actions.update refuses an invalid tree with 422 and every violation, each with its ActionID', async () => {
      const res = await api({
        Command: 'journey.actions.update',
        JourneyID: journeyId,
        Actions: [
          { id: 'bad-wait', type: 'wait', settings: { amount: -5, unit: 'days' } },
          { id: 'bad-list', type: 'subscribe', settings: { listId: 999999 } },
        ],
      }).expect(422);
      expect(res.body.Success).toBe(false);
      const actionIds = res.body.Errors.map((e: { ActionID: string }) => e.ActionID);
      expect(actionIds).toEqual(expect.arrayContaining(['bad-wait', 'bad-list']));
      for (const error of res.body.Errors) expect(error).toMatchObject({ Code: 3, Message: expect.any(String), Reason: expect.any(String) });
      const [row] = await host.query<{ Version: number }>(`SELECT Version FROM \`${t.journeys}\` WHERE JourneyID = ?`, [journeyId]);
      expect(row.Version).toBe(2); // the name change bumped it; the refused save did not
    });

    it('journey.actions.update with PreviewOnly saves nothing and reports', async () => {
      const res = await api({ Command: 'journey.actions.update', JourneyID: journeyId, Actions: [WAIT_A_DAY], PreviewOnly: true }).expect(200);
      expect(res.body.Preview).toEqual({
        Violations: [],
        AffectedEntries: 0,
        RemovedActionIDs: [],
        NewActions: [{ ActionID: 'wait-1', Type: 'wait', Entries: 0, UpTo: false }],
        ReachedEntries: { Count: 0, UpTo: false },
      });
      const [row] = await host.query<{ Actions: string }>(`SELECT Actions FROM \`${t.journeys}\` WHERE JourneyID = ?`, [journeyId]);
      expect(JSON.parse(row.Actions)).toEqual([]);
    });

    it('journey.actions.update saves the tree and bumps the version; a stale ExpectedVersion is a 409', async () => {
      const res = await api({ Command: 'journey.actions.update', JourneyID: journeyId, Actions: JSON.stringify([WAIT_A_DAY]), ExpectedVersion: 2 }).expect(200);
      expect(res.body).toMatchObject({ Success: true, Version: 3, Actions: [expect.objectContaining({ id: 'wait-1', type: 'wait' })], ExitedEntries: 0 });
      const stale = await api({ Command: 'journey.actions.update', JourneyID: journeyId, Actions: [WAIT_A_DAY], ExpectedVersion: 2 }).expect(409);
      expect(stale.body.Errors[0].Code).toBe(4);
    });

    it('journey.enable and journey.disable switch the status', async () => {
      expect((await api({ Command: 'journey.enable', JourneyID: journeyId }).expect(200)).body.Journey.status).toBe('Enabled');
      expect((await api({ Command: 'journey.disable', JourneyID: journeyId }).expect(200)).body.Journey.status).toBe('Disabled');
    });

    it('journey.enable refuses a journey without actions with 422', async () => {
      const created = await api({ Command: 'journey.create', Name: 'Empty', Trigger: { type: 'manual' } }).expect(200);
      const res = await api({ Command: 'journey.enable', JourneyID: created.body.Journey.journeyId }).expect(422);
      expect(res.body.Errors[0]).toMatchObject({ Code: 3, Reason: 'empty_journey', ActionID: null });
    });

    it('journey.delete refuses an enabled journey (409), then deletes it once disabled', async () => {
      await api({ Command: 'journey.enable', JourneyID: journeyId }).expect(200);
      expect((await api({ Command: 'journey.delete', JourneyID: journeyId }).expect(409)).body.Errors[0].Code).toBe(4);
      await api({ Command: 'journey.disable', JourneyID: journeyId }).expect(200);
      expect((await api({ Command: 'journey.delete', JourneyID: journeyId }).expect(200)).body).toEqual({ Success: true, JourneyID: journeyId, Deleted: true });
      expect(await host.query(`SELECT JourneyID FROM \`${t.journeys}\` WHERE JourneyID = ?`, [journeyId])).toEqual([]);
    });
  });

  describe('subscribers', () => {
    let journeyId: number;

    beforeAll(async () => {
      journeyId = await enabledManualJourney();
    });

    it('subscriber.journey.trigger enrols a subscriber by ListID and SubscriberID', async () => {
      const { alice } = host.demo.subscribers;
      const res = await api({ Command: 'subscriber.journey.trigger', JourneyID: journeyId, ListID: alice.listId, SubscriberID: alice.subscriberId }).expect(
        200,
      );
      expect(res.body).toMatchObject({ Success: true, JourneyID: journeyId, Enrolled: 1, EntryIDs: [expect.any(Number)] });
      const rows = await host.query<{ ListID: number; SubscriberID: number }>(`SELECT ListID, SubscriberID FROM \`${t.entries}\` WHERE JourneyID = ?`, [
        journeyId,
      ]);
      expect(rows).toEqual([{ ListID: alice.listId, SubscriberID: alice.subscriberId }]);
    });

    it('subscriber.journey.trigger enrols by EmailAddress every subscriber of the user’s lists with it', async () => {
      const { bob } = host.demo.subscribers;
      const res = await api({ Command: 'subscriber.journey.trigger', JourneyID: journeyId, EmailAddress: bob.emailAddress }).expect(200);
      expect(res.body.Enrolled).toBe(1);
      const rows = await host.query(`SELECT EntryID FROM \`${t.entries}\` WHERE JourneyID = ? AND ListID = ? AND SubscriberID = ?`, [
        journeyId,
        bob.listId,
        bob.subscriberId,
      ]);
      expect(rows).toHaveLength(1);
    });

    it('subscriber.journey.trigger: a subscriber of another user’s list is 404, a missing subscriber parameter 400', async () => {
      const { frank } = host.demo.subscribers; // on user B's list
      const foreign = await api({ Command: 'subscriber.journey.trigger', JourneyID: journeyId, ListID: frank.listId, SubscriberID: frank.subscriberId }).expect(
        404,
      );
      expect(foreign.body.Errors[0].Code).toBe(1);
      const missing = await api({ Command: 'subscriber.journey.trigger', JourneyID: journeyId }).expect(400);
      expect(missing.body.Errors[0].Message).toMatch(/ListID and SubscriberID, or EmailAddress/);
    });

    it('subscriber.journey.list answers the subscriber’s journeys and history', async () => {
      const { alice } = host.demo.subscribers;
      const res = await api({ Command: 'subscriber.journey.list', ListID: alice.listId, SubscriberID: alice.subscriberId }).expect(200);
      expect(res.body.Subscribers).toHaveLength(1);
      expect(res.body.Subscribers[0]).toMatchObject({ listId: alice.listId, subscriberId: alice.subscriberId, emailAddress: alice.emailAddress });
      expect(res.body.Subscribers[0].entries).toEqual([expect.objectContaining({ journeyId, journeyName: 'Manual one' })]);
      const byEmail = await api({ Command: 'subscriber.journey.list', EmailAddress: alice.emailAddress, JourneyID: journeyId }).expect(200);
      // alice is on two of user A's lists; only the newsletter one is in the journey
      expect(byEmail.body.Subscribers.map((s: { entries: unknown[] }) => s.entries.length).sort()).toEqual([0, 1]);
    });

    it('journey.stats counts the entries and the actions', async () => {
      const res = await api({ Command: 'journey.stats', JourneyID: journeyId }).expect(200);
      expect(res.body.Stats).toMatchObject({ JourneyID: journeyId, Entries: { total: 2 }, Funnel: { entered: 2 }, FailedEntries: [] });
      expect(res.body.Stats.Actions['wait-1']).toEqual(expect.objectContaining({ current: expect.any(Number) }));
    });

    it('subscriber.journey.exit takes the subscriber out of the journey', async () => {
      const { alice } = host.demo.subscribers;
      const res = await api({ Command: 'subscriber.journey.exit', JourneyID: journeyId, ListID: alice.listId, SubscriberID: alice.subscriberId }).expect(200);
      expect(res.body).toEqual({ Success: true, JourneyID: journeyId, Exited: 1 });
      const [row] = await host.query<{ State: string }>(`SELECT State FROM \`${t.entries}\` WHERE JourneyID = ? AND ListID = ? AND SubscriberID = ?`, [
        journeyId,
        alice.listId,
        alice.subscriberId,
      ]);
      expect(row.State).toBe('exited');
    });

    it('journey.entry.retry refuses an entry that is not failed (409) and another user’s entry (404)', async () => {
      const [entry] = await host.query<{ EntryID: number }>(`SELECT EntryID FROM \`${t.entries}\` WHERE JourneyID = ? LIMIT 1`, [journeyId]);
      expect((await api({ Command: 'journey.entry.retry', EntryID: entry.EntryID }).expect(409)).body.Errors[0].Code).toBe(4);
      expect((await api({ Command: 'journey.entry.skip', EntryID: entry.EntryID }, userB).expect(404)).body.Errors[0].Code).toBe(1);
    });
  });

  describe('Send Email, Wait for event, Random split and goals', () => {
    const tree = () => [
      { id: 'send-1', type: 'send_email', settings: { emailId: host.demo.emails.welcome, whenUndeliverable: 'skip' } },
      {
        id: 'await-1',
        type: 'wait_for_event',
        settings: { event: { type: 'email_opened', emailIds: { sentBy: 'send-1' } }, timeout: { amount: 2, unit: 'days', window: { notBefore: '09:00' } } },
        yes: [
          {
            id: 'split-1',
            type: 'random_split',
            settings: { percents: [50, 50] },
            paths: [[{ id: 'wait-a', type: 'wait', settings: { amount: 1, unit: 'hours' } }], []],
          },
        ],
        no: [],
      },
    ];
    const goal = () => ({ type: 'conversion', emailIds: [host.demo.emails.welcome], channel: 'shop', minValue: 20 });
    let journeyId: number;

    it('journey.create takes a Goal; journey.actions.update takes the three actions; journey.get answers both as they were sent', async () => {
      const created = await api({ Command: 'journey.create', Name: 'Emails', Trigger: { type: 'manual' }, Goal: goal() }).expect(200);
      journeyId = created.body.Journey.journeyId;
      expect(created.body.Journey.goal).toEqual(goal());
      const saved = await api({ Command: 'journey.actions.update', JourneyID: journeyId, Actions: tree() }).expect(200);
      expect(saved.body.Actions).toEqual(tree());
      const got = await api({ Command: 'journey.get', JourneyID: journeyId }).expect(200);
      expect(got.body.Journey).toMatchObject({ actions: tree(), goal: goal() });
    });

    it('what journey.get answers can be sent back unchanged to journey.actions.update and journey.update', async () => {
      const { body } = await api({ Command: 'journey.get', JourneyID: journeyId }).expect(200);
      const again = await api({
        Command: 'journey.actions.update',
        JourneyID: journeyId,
        Actions: body.Journey.actions,
        ExpectedVersion: body.Journey.version,
      }).expect(200);
      expect(again.body).toMatchObject({ Actions: tree(), RemovedActionIDs: [], ExitedEntries: 0 });
      const updated = await api({ Command: 'journey.update', JourneyID: journeyId, Goal: body.Journey.goal }).expect(200);
      expect(updated.body.Journey.goal).toEqual(goal());
      const [row] = await host.query<{ Goal: string }>(`SELECT Goal FROM \`${t.journeys}\` WHERE JourneyID = ?`, [journeyId]);
      expect(JSON.parse(row.Goal)).toEqual(goal());
    });

    it('journey.update refuses a bad goal with every problem, and removes the goal with {"type":"none"} or null', async () => {
      const bad = await api({
        Command: 'journey.update',
        JourneyID: journeyId,
        Goal: { type: 'conversion', emailIds: [host.demo.emails.leadsIntro], minValue: -1 },
      }).expect(400);
      expect(bad.body.Errors.map((e: { Message: string }) => e.Message)).toEqual([
        `Goal: Email ${host.demo.emails.leadsIntro} is not one of yours`,
        'Goal: Minimum value must be a number ≥ 0',
      ]);
      expect((await api({ Command: 'journey.get', JourneyID: journeyId }).expect(200)).body.Journey.goal).toEqual(goal());
      const removed = await api({ Command: 'journey.update', JourneyID: journeyId, Goal: { type: 'none' } }).expect(200);
      expect(removed.body.Journey.goal).toBeNull();
      await api({ Command: 'journey.update', JourneyID: journeyId, Goal: goal() }).expect(200);
      expect((await api({ Command: 'journey.update', JourneyID: journeyId, Goal: null }).expect(200)).body.Journey.goal).toBeNull();
      await api({ Command: 'journey.update', JourneyID: journeyId, Goal: goal() }).expect(200);
    });

    it('journey.stats counts converted entries, the conversion rate and the paths taken; journey.list the conversions', async () => {
      const { alice, bob } = host.demo.subscribers;
      const now = new Date();
      for (const [subscriber, state] of [
        [alice, 'converted'],
        [bob, 'waiting'],
      ] as const) {
        await host.sequelize.query(
          `INSERT INTO \`${t.entries}\` (JourneyID, RelOwnerUserID, ListID, SubscriberID, State, ActiveLock, CurrentActionID, JourneyVersion, ChainID, ExitReason, CreatedAt, UpdatedAt)
           VALUES (?, ?, ?, ?, ?, ?, 'wait-a', 3, ?, ?, ?, ?)`,
          {
            replacements: [
              journeyId,
              userA,
              subscriber.listId,
              subscriber.subscriberId,
              state,
              state === 'waiting' ? 1 : null,
              `api-${subscriber.subscriberId}`,
              state === 'converted' ? 'Goal met: conversion of email 1 (value 30) via shop, event c-1' : null,
              now,
              now,
            ],
          },
        );
        const [{ EntryID }] = await host.query<{ EntryID: number }>(`SELECT EntryID FROM \`${t.entries}\` WHERE JourneyID = ? AND SubscriberID = ?`, [
          journeyId,
          subscriber.subscriberId,
        ]);
        await host.sequelize.query(
          `INSERT INTO \`${t.log}\` (EntryID, JourneyID, ActionID, ActionType, Status, Result, CreatedAt, CompletedAt) VALUES (?, ?, 'split-1', 'random_split', 'done', 'path A', ?, ?)`,
          { replacements: [EntryID, journeyId, now, now] },
        );
      }
      const stats = (await api({ Command: 'journey.stats', JourneyID: journeyId }).expect(200)).body.Stats;
      expect(stats.Entries).toEqual({ active: 0, waiting: 1, completed: 0, exited: 0, failed: 0, converted: 1, retrying: 0, total: 2 });
      expect(stats.ConversionRate).toBe(0.5);
      expect(stats.Actions['split-1']).toEqual({ current: 0, passed: 2, failed: 0, retrying: 0, skipped: 0, branches: { path1: 2, path2: 0 } });
      expect(stats.Actions['await-1'].branches).toEqual({ yes: 0, no: 0 });
      expect(stats.Actions['send-1'].branches).toBeUndefined();
      expect(stats.Funnel).toMatchObject({ entered: 2, converted: 1, hasGoal: true });
      expect(stats.Funnel.steps.find((s: { actionId: string }) => s.actionId === 'wait-a')).toMatchObject({
        depth: 2,
        branch: 'path1',
        branchLabel: 'Path A',
        parentActionId: 'split-1',
      });
      const listed = (await api({ Command: 'journey.list' }).expect(200)).body.Journeys.find((j: { journeyId: number }) => j.journeyId === journeyId);
      expect(listed).toMatchObject({ activeCount: 1, totalCount: 2, convertedCount: 1, conversionRate: 0.5, goal: goal() });
    });
  });

  it('serves every API command plugin.json declares', () => {
    const served = host.app.get(ApiCommands).names;
    for (const { command } of loadManifest(findManifestDir(__dirname)).api) expect(served).toContain(command);
  });

  describe('refusals', () => {
    let journeyId: number;

    beforeAll(async () => {
      journeyId = (await api({ Command: 'journey.create', Name: 'Owned by A', Trigger: { type: 'manual' } }).expect(200)).body.Journey.journeyId;
    });

    it('another user’s journey is 404 for every command that names it', async () => {
      for (const Command of ['journey.get', 'journey.enable', 'journey.disable', 'journey.delete', 'journey.stats']) {
        const res = await api({ Command, JourneyID: journeyId }, userB).expect(404);
        expect(res.body).toEqual({ Success: false, Errors: [{ Code: 1, Message: expect.stringMatching(/not found/) }] });
      }
      await api({ Command: 'journey.update', JourneyID: journeyId, Name: 'stolen' }, userB).expect(404);
      await api({ Command: 'subscriber.journey.trigger', JourneyID: journeyId, EmailAddress: 'frank@example.net' }, userB).expect(404);
      const [row] = await host.query<{ Name: string }>(`SELECT Name FROM \`${t.journeys}\` WHERE JourneyID = ?`, [journeyId]);
      expect(row.Name).toBe('Owned by A');
    });

    it('an unknown command is 400 naming it', async () => {
      const res = await api({ Command: 'journey.explode', JourneyID: journeyId }).expect(400);
      expect(res.body.Errors[0]).toMatchObject({ Code: 2, Message: expect.stringContaining('Unknown command "journey.explode"') });
    });

    it('a missing Command is 400', async () => {
      expect((await api({ JourneyID: journeyId }).expect(400)).body.Errors[0].Message).toBe('Command is required');
    });

    it('a missing parameter is 400 naming it', async () => {
      const res = await api({ Command: 'journey.get' }).expect(400);
      expect(res.body.Errors).toEqual([expect.objectContaining({ Code: 2, Message: 'JourneyID is required' })]);
      const create = await api({ Command: 'journey.create' }).expect(400);
      expect(create.body.Errors.map((e: { Message: string }) => e.Message).sort()).toEqual(['Name is required', 'Trigger is required']);
    });

    it('an unknown parameter is 400 naming it', async () => {
      const res = await api({ Command: 'journey.get', JourneyID: journeyId, JourneyId: 3 }).expect(400);
      expect(res.body.Errors).toEqual([expect.objectContaining({ Code: 2, Message: 'Unknown parameter JourneyId for journey.get' })]);
    });

    it('a parameter of the wrong type is 400 naming it', async () => {
      const res = await api({ Command: 'journey.get', JourneyID: 'seven' }).expect(400);
      expect(res.body.Errors[0].Message).toBe('JourneyID must be a positive integer');
    });

    it('an invalid trigger is 400 with every violation', async () => {
      const res = await api({ Command: 'journey.create', Name: '', Trigger: { type: 'subscription', listIds: [999999] } }).expect(400);
      expect(res.body.Errors.length).toBeGreaterThanOrEqual(2);
    });

    it('not logged in is 401', async () => {
      const res = await api({ Command: 'journey.list' }, null).expect(401);
      expect(res.body).toEqual({ Success: false, Errors: [{ Code: 6, Message: expect.any(String) }] });
    });

    it('a form body without the X-Requested-With header is refused as a possible cross-site request (403)', async () => {
      const res = await request(host.server)
        .post('/journeys/api')
        .set('Cookie', host.cookieFor(userA))
        .type('form')
        .send({ Command: 'journey.create', Name: 'CSRF', Trigger: JSON.stringify({ type: 'manual' }) })
        .expect(403);
      expect(res.body.Errors[0].Code).toBe(5);
      expect(await host.query(`SELECT JourneyID FROM \`${t.journeys}\` WHERE Name = 'CSRF'`)).toEqual([]);
    });

    it('a malformed JSON body is 400 in the API’s error shape', async () => {
      const res = await request(host.server)
        .post('/journeys/api')
        .set('Cookie', host.cookieFor(userA))
        .set('Content-Type', 'application/json')
        .send('{"Command":')
        .expect(400);
      expect(res.body).toEqual({ Success: false, Errors: [{ Code: 2, Message: 'The request body is not valid JSON' }] });
    });

    it('a body that is not an object is 400', async () => {
      await request(host.server).post('/journeys/api').set('Cookie', host.cookieFor(userA)).set('Content-Type', 'application/json').send('[1,2]').expect(400);
    });
  });
});
