/**
 * Every action through the reference host, on real MariaDB and Redis, with an
 * injected clock: Subscribe (the target list's autoresponder and a second
 * journey fire), Unsubscribe, Update Custom Field with merge tags, Yes/No both
 * ways, Wait with a send window, Start Journey, the three exits, and the
 * Webhook (signature verified by the standardwebhooks library, retried on 503
 * with Retry-After, parked on 4xx and 3xx, then retried or skipped).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'http';
import type { AddressInfo } from 'net';
import { Webhook } from 'standardwebhooks';
import { journeyTables, entriesOf, insertJourney, logOf, MINUTE, MovableClock, runtimeOf, settle, webhookSecretOf } from './support/journey-fixtures';
import { startReferenceHost, type RefHost } from './support/reference-host';
import type { Action, ConditionRule } from '../src/engine/journey.types';
import { JourneysService } from '../src/journeys/journeys.service';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local webhook receiver whose answers the test scripts. */
class Receiver {
  readonly received: Received[] = [];
  answers: { status: number; headers?: Record<string, string> }[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        this.received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        const answer = this.answers.shift() ?? { status: 200 };
        res.writeHead(answer.status, answer.headers).end('ok');
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('Runtime actions', () => {
  let host: RefHost;
  const clock = new MovableClock(new Date('2026-11-27T08:00:00Z')); // a Friday; the demo user is in Europe/Istanbul (UTC+3)
  const receiver = new Receiver();

  beforeAll(async () => {
    await receiver.start();
    host = await startReferenceHost({ clock, env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
  });
  afterAll(async () => {
    await host?.stop();
    await receiver.stop();
  });

  const enrol = async (journeyId: number, refs: { listId: number; subscriberId: number }[]) => {
    await runtimeOf(host).scheduler.enrolManually(host.demo.userA.userId, journeyId, refs);
    await settle(host);
  };
  const field = async (ref: { listId: number; subscriberId: number }, fieldId: number) => (await host.subscriberRow(ref))?.[`CustomField${fieldId}`];

  it('Subscribe goes through the host path: the target list records its autoresponder and a second journey enrols', async () => {
    const { subscribers: s, lists, autoresponders } = host.demo;
    const second = await insertJourney(host, {
      name: 'Customers welcome',
      trigger: { type: 'subscription', listIds: [lists.customers] },
      actions: [{ id: 'c1', type: 'update_custom_field', settings: { fieldId: host.demo.fields.firstName, value: 'Customer %Subscriber:EmailAddress%' } }],
    });
    const journeyId = await insertJourney(host, {
      trigger: { type: 'manual' },
      actions: [{ id: 's1', type: 'subscribe', settings: { listId: lists.customers } }],
    });
    await enrol(journeyId, [s.dave]);

    const [entry] = await entriesOf(host, journeyId);
    expect(entry.State).toBe('completed');
    expect((await logOf(host, entry.EntryID)).map((l) => [l.ActionID, l.Status])).toEqual([['s1', 'done']]);
    const [customer] = await host.query<{ SubscriberID: number; SubscriptionStatus: string }>(
      `SELECT SubscriberID, SubscriptionStatus FROM \`${host.tables.subscribers(lists.customers)}\` WHERE EmailAddress = ?`,
      [s.dave.emailAddress],
    );
    expect(customer.SubscriptionStatus).toBe('Subscribed');
    const sent = await host.query(`SELECT * FROM \`${host.tables.autoresponderLog}\` WHERE RelAutoResponderID = ? AND RelSubscriberID = ?`, [
      autoresponders.onboarding,
      customer.SubscriberID,
    ]);
    expect(sent).toHaveLength(1);
    const [chained] = await entriesOf(host, second);
    expect(chained).toMatchObject({ ListID: lists.customers, SubscriberID: customer.SubscriberID, State: 'completed', ChainDepth: 1 });
    expect(await field({ listId: lists.customers, subscriberId: customer.SubscriberID }, host.demo.fields.firstName)).toBe(`Customer ${s.dave.emailAddress}`);
  });

  it('Unsubscribe removes the subscriber from another list through the host path', async () => {
    const { subscribers: s, lists } = host.demo;
    const journeyId = await insertJourney(host, {
      trigger: { type: 'manual' },
      actions: [{ id: 'u1', type: 'unsubscribe', settings: { listId: lists.customers } }],
    });
    await enrol(journeyId, [s.alice]);
    const row = await host.subscriberRow(s.aliceCustomer);
    expect(row!.SubscriptionStatus).toBe('Unsubscribed');
    const [entry] = await entriesOf(host, journeyId);
    expect((await logOf(host, entry.EntryID))[0]).toMatchObject({ ActionID: 'u1', Status: 'done', Result: 'unsubscribed' });
  });

  it('Update Custom Field resolves merge tags (the email address, another field)', async () => {
    const { subscribers: s, fields } = host.demo;
    const journeyId = await insertJourney(host, {
      trigger: { type: 'manual' },
      actions: [{ id: 'f1', type: 'update_custom_field', settings: { fieldId: fields.city, value: '%Subscriber:EmailAddress% / %Subscriber:CustomField1%' } }],
    });
    await enrol(journeyId, [s.bob]);
    expect(await field(s.bob, fields.city)).toBe('bob@example.com / Bob');
  });

  it('Update Custom Field of a field created moments ago works at once (the cached owner facts are read again on a miss)', async () => {
    const { subscribers: s, userA, lists } = host.demo;
    const warm = await insertJourney(host, {
      trigger: { type: 'manual' },
      actions: [{ id: 'w1', type: 'wait', settings: { amount: 1, unit: 'days' } }],
    });
    await enrol(warm, [s.alice]); // the owner's facts are cached now, without the new field
    await host.sequelize.query(
      `INSERT INTO \`${host.tables.customFields}\` (RelOwnerUserID, RelListID, FieldName, FieldType) VALUES (?, 0, 'Coupon', 'Single line')`,
      {
        replacements: [userA.userId],
      },
    );
    const [{ fieldId }] = await host.query<{ fieldId: number }>(`SELECT MAX(CustomFieldID) AS fieldId FROM \`${host.tables.customFields}\``);
    for (const listId of Object.values(lists)) {
      const [owned] = await host.query(`SELECT 1 FROM \`${host.tables.lists}\` WHERE ListID = ? AND RelOwnerUserID = ?`, [listId, userA.userId]);
      if (owned) await host.sequelize.query(`ALTER TABLE \`${host.tables.subscribers(listId)}\` ADD COLUMN \`CustomField${fieldId}\` TEXT NULL`);
    }
    // Saved and enabled through the journeys service: validation reads the owner's fields fresh.
    const journeys = host.app.get(JourneysService);
    const { journeyId } = await journeys.create(userA.userId, { name: 'Coupon', trigger: { type: 'manual' } });
    await journeys.saveActions(userA.userId, journeyId, [{ id: 'c1', type: 'update_custom_field', settings: { fieldId, value: 'WELCOME10' } }]);
    await journeys.enable(userA.userId, journeyId);
    await enrol(journeyId, [s.alice]);
    expect(await field(s.alice, fieldId)).toBe('WELCOME10');
    expect((await entriesOf(host, journeyId)).map((e) => [e.State, e.LastError])).toEqual([['completed', null]]);
  });

  describe('Yes/No condition routes both ways', () => {
    const cases: { name: string; match: 'all' | 'any'; rules: ConditionRule[] }[] = [
      { name: 'text equals (custom field)', match: 'all', rules: [{ attribute: 'CustomField:1', operator: 'equals', value: 'alice' }] },
      { name: 'number greater than (Number field)', match: 'all', rules: [{ attribute: 'CustomField:3', operator: 'greater_than', value: '30' }] },
      { name: 'date before (Date field)', match: 'all', rules: [{ attribute: 'CustomField:5', operator: 'before', value: '2000-01-01' }] },
      { name: 'opens of an email at least 2', match: 'all', rules: [{ attribute: 'Opens', operator: 'at_least', value: '2', emailIds: [2] }] },
      {
        name: 'email begins with, any of two',
        match: 'any',
        rules: [
          { attribute: 'EmailAddress', operator: 'begins_with', value: 'ali' },
          { attribute: 'CustomField:2', operator: 'equals', value: 'Nowhere' },
        ],
      },
      {
        name: 'status is and city contains, all',
        match: 'all',
        rules: [
          { attribute: 'SubscriptionStatus', operator: 'equals', value: 'Subscribed' },
          { attribute: 'CustomField:2', operator: 'contains', value: 'stan' },
        ],
      },
    ];
    it.each(cases)('$name: Alice goes Yes, Bob goes No', async ({ match, rules }) => {
      const { subscribers: s } = host.demo;
      const actions: Action[] = [
        {
          id: 'if',
          type: 'condition',
          settings: { match, rules },
          yes: [{ id: 'yes1', type: 'exit_this_journey', settings: {} }],
          no: [{ id: 'no1', type: 'exit_this_journey', settings: {} }],
        },
      ];
      const journeyId = await insertJourney(host, { trigger: { type: 'manual' }, actions });
      await enrol(journeyId, [s.alice, s.bob]);
      const entries = await entriesOf(host, journeyId);
      const routes = await Promise.all(entries.map(async (e) => (await logOf(host, e.EntryID)).map((l) => `${l.ActionID}:${l.Result ?? ''}`)));
      expect(routes).toEqual([
        ['if:yes', 'yes1:'],
        ['if:no', 'no1:'],
      ]);
      expect(entries.map((e) => [e.State, e.CurrentActionID])).toEqual([
        ['exited', 'yes1'],
        ['exited', 'no1'],
      ]);
    });
  });

  it('Wait with a send window wakes at the window opening in the owner time zone, through the sweeper', async () => {
    const { subscribers: s, fields } = host.demo;
    clock.set(new Date('2026-11-27T08:00:00Z')); // 11:00 in Istanbul, Friday
    const journeyId = await insertJourney(host, {
      trigger: { type: 'manual' },
      actions: [
        { id: 'w', type: 'wait', settings: { amount: 1, unit: 'hours', window: { notBefore: '14:00', notAfter: '16:00', weekdays: [1, 2, 3, 4, 5] } } },
        { id: 'after', type: 'update_custom_field', settings: { fieldId: fields.city, value: 'window' } },
      ],
    });
    await enrol(journeyId, [s.dave]);
    let [entry] = await entriesOf(host, journeyId);
    expect(entry.State).toBe('waiting');
    expect(new Date(entry.WakeAt!).toISOString()).toBe('2026-11-27T11:00:00.000Z'); // 14:00 Istanbul
    clock.set(new Date('2026-11-27T10:00:00Z'));
    await runtimeOf(host).sweeper.sweep();
    await settle(host);
    expect((await entriesOf(host, journeyId))[0].State).toBe('waiting');
    clock.set(new Date('2026-11-27T11:00:00Z'));
    await runtimeOf(host).sweeper.sweep();
    await settle(host);
    [entry] = await entriesOf(host, journeyId);
    expect(entry.State).toBe('completed');
    expect(await field(s.dave, fields.city)).toBe('window');
  });

  it('Start Journey enrols the subscriber into the target journey, one hop deeper in the chain', async () => {
    const { subscribers: s } = host.demo;
    const target = await insertJourney(host, { trigger: { type: 'manual' }, actions: [{ id: 't', type: 'wait', settings: { amount: 3, unit: 'days' } }] });
    const journeyId = await insertJourney(host, {
      trigger: { type: 'manual' },
      actions: [{ id: 'start', type: 'start_journey', settings: { journeyId: target } }],
    });
    await enrol(journeyId, [s.bob]);
    expect((await entriesOf(host, journeyId)).map((e) => e.State)).toEqual(['completed']);
    expect((await entriesOf(host, target)).map((e) => [e.SubscriberID, e.State, e.ChainDepth])).toEqual([[s.bob.subscriberId, 'waiting', 1]]);
  });

  it("Exit Journey ends the subscriber's entry in the named journey only", async () => {
    const { subscribers: s } = host.demo;
    const wait = [{ id: 'w', type: 'wait' as const, settings: { amount: 5, unit: 'days' as const } }];
    const victim = await insertJourney(host, { trigger: { type: 'manual' }, actions: wait });
    const bystander = await insertJourney(host, { trigger: { type: 'manual' }, actions: wait });
    await enrol(victim, [s.alice, s.bob]);
    await enrol(bystander, [s.alice]);
    const exiter = await insertJourney(host, { trigger: { type: 'manual' }, actions: [{ id: 'x', type: 'exit_journey', settings: { journeyIds: [victim] } }] });
    await enrol(exiter, [s.alice]);
    const victims = await entriesOf(host, victim);
    expect(victims.map((e) => [e.SubscriberID, e.State])).toEqual([
      [s.alice.subscriberId, 'exited'],
      [s.bob.subscriberId, 'waiting'],
    ]);
    expect(victims[0].ExitReason).toContain(`journey ${exiter}`);
    expect((await entriesOf(host, bystander))[0].State).toBe('waiting');
  });

  it('Exit This Journey stops the walk there', async () => {
    const { subscribers: s, fields } = host.demo;
    const journeyId = await insertJourney(host, {
      trigger: { type: 'manual' },
      actions: [
        { id: 'x', type: 'exit_this_journey', settings: {} },
        { id: 'never', type: 'update_custom_field', settings: { fieldId: fields.city, value: 'should not happen' } },
      ],
    });
    await enrol(journeyId, [s.dave]);
    const [entry] = await entriesOf(host, journeyId);
    expect(entry).toMatchObject({ State: 'exited', CurrentActionID: 'x', ActiveLock: null });
    expect(entry.ExitReason).toBe('Exit This Journey');
    expect(await field(s.dave, fields.city)).not.toBe('should not happen');
  });

  it("Exit All Other Journeys ends every other live entry of that subscriber, nobody else's", async () => {
    const { subscribers: s } = host.demo;
    const wait = [{ id: 'w', type: 'wait' as const, settings: { amount: 5, unit: 'days' as const } }];
    const p = await insertJourney(host, { trigger: { type: 'manual' }, actions: wait });
    const q = await insertJourney(host, { trigger: { type: 'manual' }, actions: wait });
    await enrol(p, [s.dave, s.bob]);
    await enrol(q, [s.dave]);
    const r = await insertJourney(host, { trigger: { type: 'manual' }, actions: [{ id: 'all', type: 'exit_all_other_journeys', settings: {} }, ...wait] });
    await enrol(r, [s.dave]);
    expect((await entriesOf(host, p)).map((e) => [e.SubscriberID, e.State])).toEqual([
      [s.dave.subscriberId, 'exited'],
      [s.bob.subscriberId, 'waiting'],
    ]);
    expect((await entriesOf(host, q)).map((e) => e.State)).toEqual(['exited']);
    expect((await entriesOf(host, r)).map((e) => e.State)).toEqual(['waiting']);
    const live = await host.query(`SELECT EntryID FROM \`${journeyTables(host).entries}\` WHERE ListID = ? AND SubscriberID = ? AND ActiveLock = 1`, [
      s.dave.listId,
      s.dave.subscriberId,
    ]);
    expect(live).toHaveLength(1);
  });

  describe('Webhook', () => {
    const webhook = (path: string): Action => ({
      id: 'hook',
      type: 'webhook',
      settings: { url: `${receiver.url}${path}`, method: 'POST', headers: { 'X-Custom': 'yes' }, includeCustomFields: true },
    });

    it('delivers JSON signed with the journey secret (verified by standardwebhooks), then continues', async () => {
      const { subscribers: s, fields } = host.demo;
      const journeyId = await insertJourney(host, {
        name: 'Webhook journey',
        trigger: { type: 'manual' },
        actions: [webhook('/ok'), { id: 'next', type: 'update_custom_field', settings: { fieldId: fields.city, value: 'after webhook' } }],
      });
      receiver.received.length = 0;
      await enrol(journeyId, [s.alice]);
      expect(receiver.received).toHaveLength(1);
      const got = receiver.received[0];
      expect(got.headers['x-custom']).toBe('yes');
      const verified = new Webhook(await webhookSecretOf(host, journeyId)).verify(got.body, got.headers as Record<string, string>) as {
        data: { journey: unknown; [key: string]: unknown };
      };
      expect(verified.data.journey).toEqual({ id: journeyId, name: 'Webhook journey' });
      expect(verified.data.action).toEqual({ id: 'hook' });
      expect(verified.data.subscriber).toMatchObject({ emailAddress: 'alice@example.com', customFields: { FirstName: 'Alice' } });
      expect(verified.data.event).toBeNull(); // entered by the API, not by a host event
      const [entry] = await entriesOf(host, journeyId);
      expect(entry.State).toBe('completed');
      expect(got.headers['webhook-id']).toBe(`msg_${entry.EntryID}_hook`);
      expect((await logOf(host, entry.EntryID)).map((l) => [l.ActionID, l.Status, l.Result])).toEqual([
        ['hook', 'done', 'HTTP 200'],
        ['next', 'done', 'after webhook'],
      ]);
      const [delivery] = await host.query(`SELECT * FROM \`${journeyTables(host).webhookDeliveries}\` WHERE EntryID = ?`, [entry.EntryID]);
      expect(delivery).toMatchObject({ Status: 'delivered', Attempts: 1, LastStatusCode: 200 });
    });

    it('carries the triggering event, and retries a 503 after Retry-After with the same webhook-id', async () => {
      const { lists } = host.demo;
      const journeyId = await insertJourney(host, { trigger: { type: 'subscription', listIds: [lists.vip] }, actions: [webhook('/flaky')] });
      receiver.received.length = 0;
      receiver.answers = [{ status: 503, headers: { 'Retry-After': '600' } }];
      await host.ports.subscriptions.subscribe(host.demo.userA.userId, lists.vip, { emailAddress: 'hook.retry@example.com' });
      await settle(host);
      let [entry] = await entriesOf(host, journeyId);
      expect(entry).toMatchObject({ State: 'waiting', CurrentActionID: 'hook', Attempts: 1 });
      expect(new Date(entry.WakeAt!).getTime()).toBeGreaterThanOrEqual(clock.now().getTime() + 600_000);
      expect(entry.LastError).toContain('HTTP 503');
      clock.advance(11 * MINUTE);
      await runtimeOf(host).sweeper.sweep();
      await settle(host);
      [entry] = await entriesOf(host, journeyId);
      expect(entry.State).toBe('completed');
      expect(receiver.received).toHaveLength(2);
      expect(receiver.received[1].headers['webhook-id']).toBe(receiver.received[0].headers['webhook-id']);
      const body = JSON.parse(receiver.received[1].body);
      expect(body.data.event).toMatchObject({ type: 'subscription', listId: lists.vip });
    });

    it('a 4xx parks the entry as failed with the error; skip continues after it', async () => {
      const { subscribers: s, fields } = host.demo;
      const journeyId = await insertJourney(host, {
        trigger: { type: 'manual' },
        actions: [webhook('/gone'), { id: 'next', type: 'update_custom_field', settings: { fieldId: fields.city, value: 'skipped past' } }],
      });
      receiver.answers = [{ status: 410 }];
      await enrol(journeyId, [s.bob]);
      let [entry] = await entriesOf(host, journeyId);
      expect(entry).toMatchObject({ State: 'failed', CurrentActionID: 'hook' });
      expect(entry.LastError).toContain('HTTP 410');
      expect((await logOf(host, entry.EntryID))[0]).toMatchObject({ ActionID: 'hook', Status: 'failed' });
      await runtimeOf(host).scheduler.skipEntry(entry.EntryID);
      await settle(host);
      [entry] = await entriesOf(host, journeyId);
      expect(entry.State).toBe('completed');
      expect((await logOf(host, entry.EntryID)).map((l) => [l.ActionID, l.Status])).toEqual([
        ['hook', 'skipped'],
        ['next', 'done'],
      ]);
    });

    it('a redirect is not followed (permanent failure); retry sends it again', async () => {
      const { subscribers: s } = host.demo;
      const journeyId = await insertJourney(host, { trigger: { type: 'manual' }, actions: [webhook('/moved')] });
      receiver.received.length = 0;
      receiver.answers = [{ status: 302, headers: { Location: 'http://169.254.169.254/latest/meta-data' } }];
      await enrol(journeyId, [s.dave]);
      let [entry] = await entriesOf(host, journeyId);
      expect(entry.State).toBe('failed');
      expect(entry.LastError).toMatch(/HTTP 302.*not followed/);
      expect(receiver.received).toHaveLength(1);
      await runtimeOf(host).scheduler.retryEntry(entry.EntryID);
      await settle(host);
      [entry] = await entriesOf(host, journeyId);
      expect(entry.State).toBe('completed');
      expect(receiver.received).toHaveLength(2);
    });
  });
});

describe('Runtime webhook address guard', () => {
  let host: RefHost;
  const receiver = new Receiver();

  beforeAll(async () => {
    await receiver.start();
    host = await startReferenceHost({ env: { WEBHOOK_ALLOW_PRIVATE: 'false' } });
  });
  afterAll(async () => {
    await host?.stop();
    await receiver.stop();
  });

  it.each([
    ['loopback', () => `${receiver.url}/private`],
    ['metadata', () => 'http://169.254.169.254/latest/meta-data/'],
    ['private via a name', () => `http://localhost:${new URL(receiver.url).port}/private`],
  ])('refuses a %s address and records the error on the failed entry', async (_kind, url) => {
    const journeyId = await insertJourney(host, {
      trigger: { type: 'manual' },
      actions: [{ id: 'hook', type: 'webhook', settings: { url: url(), method: 'POST' } }],
    });
    await runtimeOf(host).scheduler.enrolManually(host.demo.userA.userId, journeyId, [host.demo.subscribers.alice]);
    await settle(host);
    const [entry] = await entriesOf(host, journeyId);
    expect(entry.State).toBe('failed');
    expect(entry.LastError).toMatch(/Refused webhook/);
    const [log] = await logOf(host, entry.EntryID);
    expect(log).toMatchObject({ ActionID: 'hook', Status: 'failed' });
    expect(log.Detail).toMatch(/Refused webhook/);
    expect(receiver.received).toHaveLength(0);
  });
});
