/**
 * The impact of editing a journey with subscribers inside, through the API
 * (journey.actions.update, PreviewOnly and the save) and the planner (the
 * confirmation before a save and planner.js's JSON preview): how many leave
 * because their action is removed, and how many stand before each action the
 * edit adds, "up to" when the new action is down a branch.
 */
import request from 'supertest';
import { pluginTables, type PluginTables } from '../src/database/tables';
import { formBody, plannerClient, plannerFields, tokenIn } from './support/planner-client';
import { startReferenceHost, type RefHost } from './support/reference-host';

const WAIT = (id: string) => ({ id, type: 'wait', settings: { amount: 1, unit: 'days' } });
const EXIT_OTHERS = (id: string) => ({ id, type: 'exit_all_other_journeys', settings: {} });

describe('Edit impact: subscribers who leave and subscribers who will run the new actions', () => {
  let host: RefHost;
  let t: PluginTables;
  let A: number;

  const api = (body: Record<string, unknown>) => request(host.server).post('/journeys/api').set('Cookie', host.cookieFor(A)).send(body);

  /** A disabled journey (its entries stay where they are put) with these actions. */
  async function journeyWith(name: string, actions: unknown[]): Promise<number> {
    const created = await api({ Command: 'journey.create', Name: name, Trigger: { type: 'manual' } }).expect(200);
    const journeyId = created.body.Journey.journeyId as number;
    await api({ Command: 'journey.actions.update', JourneyID: journeyId, Actions: actions }).expect(200);
    return journeyId;
  }

  /** Puts one demo subscriber's live entry at an action (null: not started yet). */
  async function entryAt(journeyId: number, subscriber: { listId: number; subscriberId: number }, actionId: string | null): Promise<void> {
    const now = new Date();
    await host.sequelize.query(
      `INSERT INTO \`${t.entries}\` (JourneyID, RelOwnerUserID, ListID, SubscriberID, State, CurrentActionID, WakeAt, JourneyVersion, ChainID, CreatedAt, UpdatedAt)
       VALUES (?, ?, ?, ?, ?, ?, ?, 2, ?, ?, ?)`,
      {
        replacements: [
          journeyId,
          A,
          subscriber.listId,
          subscriber.subscriberId,
          actionId === null ? 'active' : 'waiting',
          actionId,
          actionId === null ? null : new Date(now.getTime() + 86_400_000),
          `test-${subscriber.subscriberId}`,
          now,
          now,
        ],
      },
    );
  }

  beforeAll(async () => {
    host = await startReferenceHost();
    t = pluginTables(host.prefix);
    A = host.demo.userA.userId;
  });
  afterAll(async () => {
    await host?.stop();
  });

  describe('journey.actions.update', () => {
    let journeyId: number;
    // Alice and Bob wait at w1, Dave at w2 (which the edit removes), Alice's customer record has not started yet.
    // The edit adds x-new after w1 and a Yes/No c-new whose Yes branch holds y-new.
    const edited = [
      WAIT('w1'),
      EXIT_OTHERS('x-new'),
      { id: 'c-new', type: 'condition', settings: { match: 'all', rules: [{ attribute: 'EmailAddress', operator: 'is_set' }] }, yes: [WAIT('y-new')], no: [] },
    ];
    const newActions = [
      { ActionID: 'x-new', Type: 'exit_all_other_journeys', Entries: 3, UpTo: false },
      { ActionID: 'c-new', Type: 'condition', Entries: 3, UpTo: false },
      { ActionID: 'y-new', Type: 'wait', Entries: 3, UpTo: true },
    ];

    beforeAll(async () => {
      journeyId = await journeyWith('Impact over the API', [WAIT('w1'), WAIT('w2')]);
      const { alice, bob, dave, aliceCustomer } = host.demo.subscribers;
      await entryAt(journeyId, alice, 'w1');
      await entryAt(journeyId, bob, 'w1');
      await entryAt(journeyId, dave, 'w2');
      await entryAt(journeyId, aliceCustomer, null);
    });

    it('PreviewOnly names the entries that leave and, per added action, the entries that will (UpTo: may) run it', async () => {
      const res = await api({ Command: 'journey.actions.update', JourneyID: journeyId, Actions: edited, PreviewOnly: true }).expect(200);
      expect(res.body.Preview).toEqual({
        Violations: [],
        AffectedEntries: 1,
        RemovedActionIDs: ['w2'],
        NewActions: newActions,
        ReachedEntries: { Count: 3, UpTo: false },
      });
    });

    it('the save answers the same, and the entries stay where they are (Dave leaves)', async () => {
      const res = await api({ Command: 'journey.actions.update', JourneyID: journeyId, Actions: edited }).expect(200);
      expect(res.body).toMatchObject({ RemovedActionIDs: ['w2'], ExitedEntries: 1, NewActions: newActions, ReachedEntries: { Count: 3, UpTo: false } });
      const rows = await host.query<{ SubscriberID: number; ListID: number; State: string; CurrentActionID: string | null }>(
        `SELECT ListID, SubscriberID, State, CurrentActionID FROM \`${t.entries}\` WHERE JourneyID = ? ORDER BY ListID, SubscriberID`,
        [journeyId],
      );
      const { alice, bob, dave, aliceCustomer } = host.demo.subscribers;
      expect(rows).toEqual([
        { ListID: alice.listId, SubscriberID: alice.subscriberId, State: 'waiting', CurrentActionID: 'w1' },
        { ListID: bob.listId, SubscriberID: bob.subscriberId, State: 'waiting', CurrentActionID: 'w1' },
        { ListID: dave.listId, SubscriberID: dave.subscriberId, State: 'exited', CurrentActionID: 'w2' },
        { ListID: aliceCustomer.listId, SubscriberID: aliceCustomer.subscriberId, State: 'active', CurrentActionID: null },
      ]);
    });

    it('an edit that adds nothing has no NewActions', async () => {
      const res = await api({ Command: 'journey.actions.update', JourneyID: journeyId, Actions: edited, PreviewOnly: true }).expect(200);
      expect(res.body.Preview).toMatchObject({ AffectedEntries: 0, NewActions: [], ReachedEntries: { Count: 0, UpTo: false } });
    });
  });

  describe('the Action Planner', () => {
    let get: ReturnType<typeof plannerClient>['get'];
    let post: ReturnType<typeof plannerClient>['post'];
    let cookies: ReturnType<typeof plannerClient>['cookies'];
    let journeyId: number;
    // The draft keeps w1 and adds, after it, an Exit All Other Journeys and a Random split with a Wait on path A.
    const shape = [{ id: 'w1' }, { id: 'x-new' }, { id: 'rs-new', paths: [[{ id: 'pa-new' }], []] }];
    const fields = {
      'a.w1.type': 'wait',
      'a.w1.amount': '1',
      'a.w1.unit': 'days',
      'a.x-new.type': 'exit_all_other_journeys',
      'a.rs-new.type': 'random_split',
      'a.rs-new.percent': ['50', '50'],
      'a.pa-new.type': 'wait',
      'a.pa-new.amount': '2',
      'a.pa-new.unit': 'hours',
    };

    beforeAll(async () => {
      ({ get, post, cookies } = plannerClient(host));
      journeyId = await journeyWith('Impact on the planner', [WAIT('w1'), WAIT('w2')]);
      const { alice, bob, dave } = host.demo.subscribers;
      await entryAt(journeyId, alice, 'w1');
      await entryAt(journeyId, bob, 'w1');
      await entryAt(journeyId, dave, 'w2');
    });

    it('asks before saving, naming who leaves and each new action with the subscribers before it ("up to" down a branch)', async () => {
      const page = await post(`/journeys/${journeyId}/planner`, plannerFields(shape, fields, { op: 'save', version: '2' }));
      expect(page.status).toBe(200);
      const preview = page.text.slice(page.text.indexOf('id="save-preview"'), page.text.indexOf('name="op" value="save-confirmed"'));
      expect(preview).toContain('Subscribers are paused inside this journey.');
      expect(preview).toContain('Saving affects <strong>3 subscribers</strong>');
      expect(preview).toContain('<li>1 subscriber is at an action this change removes and will leave the journey.</li>');
      expect(preview).toMatch(
        /<li><a href="#action-x-new">Exit All Other Journeys<\/a> \(new\): 2 subscribers before it will run it\.<\/li>\s*<li><a href="#action-rs-new">Random split<\/a> \(new\): 2 subscribers before it will run it\.<\/li>\s*<li><a href="#action-pa-new">Wait<\/a> \(new\): up to 2 subscribers before it may run it, only those who take its branch\.<\/li>/,
      );
      const [row] = await host.query<{ Version: number }>(`SELECT Version FROM \`${t.journeys}\` WHERE JourneyID = ?`, [journeyId]);
      expect(row.Version).toBe(2);
    });

    it('gives planner.js the same words for its question', async () => {
      const token = tokenIn((await get(`/journeys/${journeyId}/planner`)).text);
      const res = await request(host.server)
        .post(`/journeys/${journeyId}/planner/preview`)
        .set('Cookie', cookies(A))
        .set('x-csrf-token', token)
        .type('form')
        .send(formBody(plannerFields(shape, fields)).toString())
        .expect(200);
      expect(res.body).toEqual({
        live: false,
        affected: 1,
        removedActionIds: ['w2'],
        violations: 0,
        reached: 2,
        impact: {
          affected: '3 subscribers',
          nobody: null,
          items: [
            { actionId: null, label: null, text: '1 subscriber is at an action this change removes and will leave the journey' },
            { actionId: 'x-new', label: 'Exit All Other Journeys', text: '2 subscribers before it will run it' },
            { actionId: 'rs-new', label: 'Random split', text: '2 subscribers before it will run it' },
            { actionId: 'pa-new', label: 'Wait', text: 'up to 2 subscribers before it may run it, only those who take its branch' },
          ],
        },
      });
    });

    it('says nobody is affected when no subscriber is at a removed action or before a new one (asked because the journey is live)', async () => {
      await api({ Command: 'journey.enable', JourneyID: journeyId }).expect(200);
      const unchanged = plannerFields([{ id: 'w1' }, { id: 'w2' }], {
        'a.w1.type': 'wait',
        'a.w1.amount': '1',
        'a.w1.unit': 'days',
        'a.w2.type': 'wait',
        'a.w2.amount': '1',
        'a.w2.unit': 'days',
      });
      const page = await post(`/journeys/${journeyId}/planner`, { ...unchanged, op: 'save', version: '2' });
      expect(page.text).toContain('This journey is live.');
      expect(page.text).toContain(
        'Saving affects <strong>0 subscribers</strong>: nobody is at an action this change removes. Everyone else carries on from where they are with the new actions.',
      );
    });
  });
});
