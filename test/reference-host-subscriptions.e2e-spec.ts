/**
 * The reference host's subscription path under concurrency and repetition:
 * concurrent sign-ups never deadlock and leave one row per address and one
 * autoresponder record per real subscription; every hook's EventID is unique
 * per occurrence, even within one second; an idempotency key answers its
 * first call again without running the path; the batch calls answer each
 * request in order, a failing request failing only itself.
 */
import request from 'supertest';
import type { ConversionHookPayload, SubscribedHookPayload, UnsubscribedHookPayload } from '../src/host/hook-payloads';
import { PermanentHostError } from '../src/host/host.ports';
import { referenceHostTables } from '../reference-host/schema';
import type { HostSubscriptionCommands } from '../reference-host/subscription-commands.port';
import { startReferenceHost, type RefHost } from './support/reference-host';
import { entriesOf, insertJourney, MovableClock, settle } from './support/journey-fixtures';

describe('reference host subscription path', () => {
  let host: RefHost;
  let port: HostSubscriptionCommands;
  // One fixed instant: everything below happens "within the same second".
  const clock = new MovableClock(new Date('2026-11-27T08:30:15.250Z'));

  beforeAll(async () => {
    host = await startReferenceHost({ clock });
    port = host.ports.subscriptions as HostSubscriptionCommands;
  });
  afterAll(async () => {
    await host?.stop();
  });

  const subscribersOf = (listId: number, addresses: string[]) =>
    host.query<{ SubscriberID: number; EmailAddress: string; SubscriptionStatus: string }>(
      `SELECT SubscriberID, EmailAddress, SubscriptionStatus FROM \`${host.tables.subscribers(listId)}\` WHERE EmailAddress IN (?) ORDER BY SubscriberID`,
      [addresses],
    );
  const autoresponderRecords = async (listId: number, subscriberId: number) =>
    (await host.query(`SELECT LogID FROM \`${host.tables.autoresponderLog}\` WHERE RelListID = ? AND RelSubscriberID = ?`, [listId, subscriberId])).length;

  it('60 concurrent sign-ups of new and existing addresses: no 5xx, one row per address, one autoresponder record and one hook per real subscription', async () => {
    const { lists, subscribers: s } = host.demo;
    const fresh = Array.from({ length: 15 }, (_, i) => `crowd${i}@example.com`);
    // alice and bob are subscribed already; carol is unsubscribed, so her sign-up is a real (re)subscription.
    const existing = [s.alice.emailAddress, s.bob.emailAddress, s.carol.emailAddress];
    const addresses = [...fresh, ...existing].flatMap((a) => [a, a, a]);
    const hooks = host.captureHook<SubscribedHookPayload>('Subscriber.Subscribed');
    const send = (body: object) => request(host.server).post('/api/subscribers/subscribe').send(body);
    // Two bad requests among them (written in the same batch as their neighbours): refused alone.
    const [answers, badAddress, unknownList] = await Promise.all([
      Promise.all(addresses.map((address) => send({ ListID: lists.newsletter, EmailAddress: address }))),
      send({ ListID: lists.newsletter, EmailAddress: 'crowd-bad-address' }),
      send({ ListID: 999, EmailAddress: 'crowd-unknown-list@example.com' }),
    ]);

    expect(answers.length).toBeGreaterThanOrEqual(50);
    expect(answers.filter((a) => a.status !== 200).map((a) => [a.status, a.body])).toEqual([]);
    expect([badAddress.status, badAddress.body.Errors[0].Message]).toEqual([400, 'EmailAddress "crowd-bad-address" is not a valid email address']);
    expect([unknownList.status, unknownList.body.Errors[0].Message]).toEqual([404, 'List 999 not found']);
    const rows = await subscribersOf(lists.newsletter, [...fresh, ...existing]);
    expect(rows.map((r) => r.EmailAddress).sort()).toEqual([...fresh, ...existing].sort());
    expect(rows.every((r) => r.SubscriptionStatus === 'Subscribed')).toBe(true);
    const real = [...fresh, s.carol.emailAddress];
    for (const row of rows) {
      const mine = answers.filter((_, i) => addresses[i] === row.EmailAddress);
      expect({ address: row.EmailAddress, ids: [...new Set(mine.map((a) => a.body.SubscriberID))] }).toEqual({
        address: row.EmailAddress,
        ids: [row.SubscriberID],
      });
      const expected = real.includes(row.EmailAddress) ? 1 : 0;
      expect({ address: row.EmailAddress, newAnswers: mine.filter((a) => a.body.AlreadySubscribed === false).length }).toEqual({
        address: row.EmailAddress,
        newAnswers: expected,
      });
      expect({ address: row.EmailAddress, records: await autoresponderRecords(lists.newsletter, row.SubscriberID) }).toEqual({
        address: row.EmailAddress,
        records: row.EmailAddress === s.alice.emailAddress || row.EmailAddress === s.bob.emailAddress ? 0 : 1,
      });
    }
    expect(hooks.map((h) => h.EmailAddress).sort()).toEqual([...real].sort());
    expect(port.subscriptions.deadlockRetries).toBe(0);
  });

  it('subscribe → unsubscribe → subscribe within one second: three hooks, three EventIDs, and a subscription journey enrols on both subscriptions', async () => {
    const { lists, userA } = host.demo;
    const journeyId = await insertJourney(host, { trigger: { type: 'subscription', listIds: [lists.vip] }, actions: [], reEntry: 'allow' });
    const subscribed = host.captureHook<SubscribedHookPayload>('Subscriber.Subscribed');
    const unsubscribed = host.captureHook<UnsubscribedHookPayload>('Subscriber.Unsubscribed');

    const first = await port.subscribe(userA.userId, lists.vip, { emailAddress: 'twice@example.com' });
    await settle(host);
    await port.unsubscribe(userA.userId, { listId: lists.vip, subscriberId: first.subscriberId });
    await settle(host);
    const second = await port.subscribe(userA.userId, lists.vip, { emailAddress: 'twice@example.com' });
    await settle(host);

    expect(second).toEqual({ subscriberId: first.subscriberId, alreadySubscribed: false });
    const ids = [...subscribed, ...unsubscribed].map((h) => h.EventID);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
    expect([...subscribed, ...unsubscribed].every((h) => h.OccurredAt === '2026-11-27T08:30:15.250Z')).toBe(true);
    const events = await host.query<{ SubscriptionEventID: number; EventType: string }>(
      `SELECT SubscriptionEventID, EventType FROM \`${referenceHostTables(host.prefix).subscriptionEvents}\` WHERE RelListID = ? AND RelSubscriberID = ? ORDER BY SubscriptionEventID`,
      [lists.vip, first.subscriberId],
    );
    expect(events.map((e) => `${e.EventType.toLowerCase()}-${e.SubscriptionEventID}`)).toEqual([
      subscribed[0].EventID,
      unsubscribed[0].EventID,
      subscribed[1].EventID,
    ]);
    const entries = await entriesOf(host, journeyId);
    expect(entries.map((e) => [e.SubscriberID, e.State])).toEqual([
      [first.subscriberId, 'completed'],
      [first.subscriberId, 'completed'],
    ]);
  });

  describe('idempotency keys', () => {
    it('a repeated key answers the first result and does not run the path again: no hook, no autoresponder record, no row change', async () => {
      const { lists, userA } = host.demo;
      const hooks = host.captureHook<SubscribedHookPayload>('Subscriber.Subscribed');
      const first = await port.subscribe(userA.userId, lists.newsletter, { emailAddress: 'keyed@example.com' }, undefined, 'claim-1');
      expect(first.alreadySubscribed).toBe(false);
      const ref = { listId: lists.newsletter, subscriberId: first.subscriberId };
      await port.unsubscribe(userA.userId, ref, undefined, 'claim-2');

      // The same two calls again (a worker retrying after a crash): the first answers, nothing runs.
      expect(await port.subscribe(userA.userId, lists.newsletter, { emailAddress: 'keyed@example.com' }, undefined, 'claim-1')).toEqual(first);
      expect((await host.subscriberRow(ref))!.SubscriptionStatus).toBe('Unsubscribed');
      expect(hooks.filter((h) => h.EmailAddress === 'keyed@example.com')).toHaveLength(1);
      expect(await autoresponderRecords(lists.newsletter, first.subscriberId)).toBe(1);

      await port.subscribe(userA.userId, lists.newsletter, { emailAddress: 'keyed@example.com' }, undefined, 'claim-3');
      const unsubscribed = host.captureHook('Subscriber.Unsubscribed');
      expect(await port.unsubscribe(userA.userId, ref, undefined, 'claim-2')).toEqual({ wasSubscribed: true });
      expect((await host.subscriberRow(ref))!.SubscriptionStatus).toBe('Subscribed');
      expect(unsubscribed).toEqual([]);
    });

    it('two concurrent calls with one key run the path once and answer alike', async () => {
      const { lists, userA } = host.demo;
      const hooks = host.captureHook<SubscribedHookPayload>('Subscriber.Subscribed');
      const call = () => port.subscribe(userA.userId, lists.customers, { emailAddress: 'racing.key@example.com' }, undefined, 'claim-race');
      const [a, b] = await Promise.all([call(), call()]);
      expect(a).toEqual(b);
      expect(a.alreadySubscribed).toBe(false);
      expect(hooks.filter((h) => h.EmailAddress === 'racing.key@example.com')).toHaveLength(1);
      expect(await autoresponderRecords(lists.customers, a.subscriberId)).toBe(1);
    });

    it('a key used again for another request is refused as permanent; keys are per owner', async () => {
      const { lists, userA, userB } = host.demo;
      await port.subscribe(userA.userId, lists.vip, { emailAddress: 'first.use@example.com' }, undefined, 'claim-shared');
      const reused = port.subscribe(userA.userId, lists.vip, { emailAddress: 'other.use@example.com' }, undefined, 'claim-shared');
      await expect(reused).rejects.toBeInstanceOf(PermanentHostError);
      await expect(reused).rejects.toThrow(/first used for another request/);
      expect(await subscribersOf(lists.vip, ['other.use@example.com'])).toEqual([]);
      // The same key of another owner is another call.
      const b = await port.subscribe(userB.userId, lists.leads, { emailAddress: 'first.use@example.com' }, undefined, 'claim-shared');
      expect(b.alreadySubscribed).toBe(false);
    });

    it('the HTTP API honours an Idempotency-Key header', async () => {
      const hooks = host.captureHook<SubscribedHookPayload>('Subscriber.Subscribed');
      const send = () =>
        request(host.server)
          .post('/api/subscribers/subscribe')
          .set('Idempotency-Key', 'form-post-7')
          .send({ ListID: host.demo.lists.vip, EmailAddress: 'http.key@example.com' })
          .expect(200);
      const first = await send();
      const again = await send();
      expect(again.body).toEqual(first.body);
      expect(first.body.AlreadySubscribed).toBe(false);
      expect(hooks.filter((h) => h.EmailAddress === 'http.key@example.com')).toHaveLength(1);
      const tooLong = await request(host.server)
        .post('/api/subscribers/subscribe')
        .set('Idempotency-Key', 'k'.repeat(256))
        .send({ ListID: host.demo.lists.vip, EmailAddress: 'http.key2@example.com' })
        .expect(400);
      expect(tooLong.body.Errors[0].Message).toMatch(/idempotency key must be a string of 1 to 255 characters/);
    });
  });

  describe('batch calls', () => {
    it('subscribeMany answers each request in order; a failing request in the middle fails only itself; hooks fire after commit', async () => {
      const { lists, userA, subscribers: s } = host.demo;
      const hooks = host.captureHook<SubscribedHookPayload>('Subscriber.Subscribed');
      const requests = [
        { listId: lists.newsletter, emailAddress: 'batch.a@example.com', idempotencyKey: 'b-1', causation: { chainId: 'chain-9', depth: 2 } },
        { listId: 999, emailAddress: 'batch.b@example.com', idempotencyKey: 'b-2' },
        { listId: lists.newsletter, emailAddress: 'not-an-email', idempotencyKey: 'b-3' },
        { listId: lists.newsletter, emailAddress: s.alice.emailAddress, idempotencyKey: 'b-4' },
        { listId: lists.customers, emailAddress: 'batch.c@example.com', customFields: { [host.demo.fields.plan]: 'Pro' }, idempotencyKey: 'b-5' },
        { listId: lists.newsletter, emailAddress: 'batch.a@example.com', idempotencyKey: 'b-6' },
        { listId: lists.newsletter, emailAddress: 'batch.d@example.com', customFields: { [host.demo.fields.plan]: 'Pro' }, idempotencyKey: 'b-7' },
      ];
      const outcomes = await port.subscribeMany(userA.userId, requests);
      const [a] = await subscribersOf(lists.newsletter, ['batch.a@example.com']);
      const [c] = await subscribersOf(lists.customers, ['batch.c@example.com']);
      expect(outcomes).toEqual([
        { ok: true, subscriberId: a.SubscriberID, alreadySubscribed: false },
        { ok: false, permanent: true, error: 'List 999 not found' },
        { ok: false, permanent: true, error: 'EmailAddress "not-an-email" is not a valid email address' },
        { ok: true, subscriberId: s.alice.subscriberId, alreadySubscribed: true },
        { ok: true, subscriberId: c.SubscriberID, alreadySubscribed: false },
        { ok: true, subscriberId: a.SubscriberID, alreadySubscribed: true },
        { ok: false, permanent: true, error: `CustomFields.${host.demo.fields.plan} is not a custom field of list ${lists.newsletter}` },
      ]);
      expect((await host.subscriberRow({ listId: lists.customers, subscriberId: c.SubscriberID }))![`CustomField${host.demo.fields.plan}`]).toBe('Pro');
      expect(await subscribersOf(lists.newsletter, ['batch.b@example.com', 'batch.d@example.com'])).toEqual([]);
      // A batch's hooks are fired together after commit; listeners may finish in any order.
      const byAddress = (a: SubscribedHookPayload, b: SubscribedHookPayload) => a.EmailAddress.localeCompare(b.EmailAddress);
      expect([...hooks].sort(byAddress).map((h) => [h.EmailAddress, h.ListID, h.Causation ?? null])).toEqual([
        ['batch.a@example.com', lists.newsletter, { chainId: 'chain-9', depth: 2 }],
        ['batch.c@example.com', lists.customers, null],
      ]);
      expect(await autoresponderRecords(lists.newsletter, a.SubscriberID)).toBe(1);
      expect(await autoresponderRecords(lists.customers, c.SubscriberID)).toBe(1);

      // The same batch again: every stored key answers as before, nothing runs.
      const again = await port.subscribeMany(userA.userId, requests);
      expect(again.filter((o) => o.ok)).toEqual(outcomes.filter((o) => o.ok));
      expect(hooks).toHaveLength(2);
    });

    it('six batches of the same new addresses at the same time: one row, one real subscription and one hook per address', async () => {
      const { lists, userA } = host.demo;
      const hooks = host.captureHook<SubscribedHookPayload>('Subscriber.Subscribed');
      const addresses = Array.from({ length: 12 }, (_, i) => `overlap${i}@example.com`);
      // Each batch in its own order; most see every address missing, insert, and collide with another batch.
      const batches = await Promise.all(
        Array.from({ length: 6 }, (_, b) =>
          port.subscribeMany(
            userA.userId,
            addresses.map((_, i) => ({ listId: lists.newsletter, emailAddress: addresses[(i + b * 5) % addresses.length], idempotencyKey: `six-${b}-${i}` })),
          ),
        ),
      );
      const outcomes = batches.flat();
      expect(outcomes.filter((o) => !o.ok)).toEqual([]);
      const rows = await subscribersOf(lists.newsletter, addresses);
      expect(rows.map((r) => r.EmailAddress).sort()).toEqual([...addresses].sort());
      const fresh = outcomes.flatMap((o) => (o.ok && !o.alreadySubscribed ? [o.subscriberId] : []));
      expect(fresh.sort((a, b) => a - b)).toEqual(rows.map((r) => r.SubscriberID).sort((a, b) => a - b));
      expect(hooks.map((h) => h.EmailAddress).sort()).toEqual([...addresses].sort());
      expect(port.subscriptions.deadlockRetries).toBe(0);
      for (const row of rows) {
        expect({ row: row.EmailAddress, records: await autoresponderRecords(lists.newsletter, row.SubscriberID) }).toEqual({
          row: row.EmailAddress,
          records: 1,
        });
      }
    });

    it('unsubscribeMany answers each request in order, including a missing subscriber and another owner’s list', async () => {
      const { lists, userA, subscribers: s } = host.demo;
      const hooks = host.captureHook<UnsubscribedHookPayload>('Subscriber.Unsubscribed');
      const { subscriberId } = await port.subscribe(userA.userId, lists.vip, { emailAddress: 'leaving@example.com' });
      const outcomes = await port.unsubscribeMany(userA.userId, [
        { ref: { listId: lists.vip, subscriberId }, idempotencyKey: 'u-1' },
        { ref: { listId: lists.newsletter, subscriberId: 9999 }, idempotencyKey: 'u-2' },
        { ref: { listId: lists.leads, subscriberId: s.frank.subscriberId }, idempotencyKey: 'u-3' },
        { ref: s.dave, idempotencyKey: 'u-4' },
        { ref: { listId: lists.vip, subscriberId }, idempotencyKey: 'u-5' },
      ]);
      expect(outcomes).toEqual([
        { ok: true, wasSubscribed: true },
        { ok: false, permanent: true, error: `Subscriber 9999 of list ${lists.newsletter} not found` },
        { ok: false, permanent: true, error: `List ${lists.leads} not found` },
        { ok: true, wasSubscribed: true },
        { ok: true, wasSubscribed: false },
      ]);
      expect(hooks.map((h) => [h.ListID, h.SubscriberID]).sort(([a], [b]) => a - b)).toEqual(
        [
          [lists.vip, subscriberId],
          [s.dave.listId, s.dave.subscriberId],
        ].sort(([a], [b]) => a - b),
      );
      expect(new Set(hooks.map((h) => h.EventID)).size).toBe(2);
      expect((await host.subscriberRow(s.frank))!.SubscriptionStatus).toBe('Subscribed');
    });

    it('the single calls throw PermanentHostError for refusals the plug-in must not retry', async () => {
      const { lists, userA } = host.demo;
      await expect(port.subscribe(userA.userId, 999, { emailAddress: 'x@example.com' })).rejects.toBeInstanceOf(PermanentHostError);
      await expect(port.subscribe(userA.userId, lists.vip, { emailAddress: 'nope' })).rejects.toBeInstanceOf(PermanentHostError);
      await expect(port.unsubscribe(userA.userId, { listId: lists.vip, subscriberId: 99999 })).rejects.toThrow(PermanentHostError);
    });
  });

  it('concurrent postbacks of one TransactionID record one conversion and all fire its EventID', async () => {
    const hooks = host.captureHook<ConversionHookPayload>('Conversion.Postback');
    const query = { ListID: 2, SubscriberID: 2, EmailID: host.demo.emails.blackFriday, Channel: 'shop', Value: '10', TransactionID: 'T-concurrent' };
    const answers = await Promise.all(Array.from({ length: 8 }, () => request(host.server).get('/track/postback').query(query)));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    const rows = await host.query<{ StatID: number }>(`SELECT StatID FROM \`${host.tables.conversions}\` WHERE TransactionID = ?`, ['T-concurrent']);
    expect(rows).toHaveLength(1);
    expect(answers.filter((a) => a.body.Repeated === false)).toHaveLength(1);
    expect(new Set(hooks.map((h) => h.EventID))).toEqual(new Set([`conversion-${rows[0].StatID}`]));
  });
});
