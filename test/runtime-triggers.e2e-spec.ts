/**
 * Every trigger type enrols through the reference host's own paths (the
 * subscribe / unsubscribe API, the open and click tracking URLs, the s2s
 * postback), the manual one only through the runtime's API; the same event
 * twice enrols once; re-entry rules hold.
 */
import request from 'supertest';
import { startReferenceHost, type RefHost } from './support/reference-host';
import { entriesOf, insertJourney, runtimeOf, settle } from './support/journey-fixtures';
import type { TriggerEvent } from '../src/engine/trigger-event';

const longWait = [{ id: 'w', type: 'wait' as const, settings: { amount: 30, unit: 'days' as const } }];

describe('Runtime triggers', () => {
  let host: RefHost;

  beforeAll(async () => {
    host = await startReferenceHost();
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('subscription to a chosen list enrols the new subscriber, another list does not', async () => {
    const { lists } = host.demo;
    const journeyId = await insertJourney(host, { trigger: { type: 'subscription', listIds: [lists.customers] }, actions: longWait });
    const res = await request(host.server)
      .post('/api/subscribers/subscribe')
      .send({ ListID: lists.customers, EmailAddress: 'sub.trigger@example.com' })
      .expect(200);
    await request(host.server).post('/api/subscribers/subscribe').send({ ListID: lists.vip, EmailAddress: 'sub.other@example.com' }).expect(200);
    await settle(host);
    const entries = await entriesOf(host, journeyId);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ ListID: lists.customers, SubscriberID: res.body.SubscriberID, State: 'waiting', CurrentActionID: 'w' });
  });

  it('unsubscription from any list enrols the subscriber', async () => {
    const { subscribers: s } = host.demo;
    const journeyId = await insertJourney(host, { trigger: { type: 'unsubscription', listIds: 'any' }, actions: longWait });
    await request(host.server).post('/api/subscribers/unsubscribe').send({ ListID: s.bob.listId, SubscriberID: s.bob.subscriberId }).expect(200);
    await settle(host);
    const entries = await entriesOf(host, journeyId);
    expect(entries.map((e) => [e.ListID, e.SubscriberID])).toEqual([[s.bob.listId, s.bob.subscriberId]]);
  });

  it('an open of the chosen email enrols; an open of another email does not', async () => {
    const { subscribers: s, emails } = host.demo;
    const journeyId = await insertJourney(host, { trigger: { type: 'email_opened', emailIds: [emails.newsletter] }, actions: longWait });
    await request(host.server).get(`/track/open/${s.alice.listId}/${s.alice.subscriberId}/${emails.newsletter}`).expect(200);
    await request(host.server).get(`/track/open/${s.dave.listId}/${s.dave.subscriberId}/${emails.blackFriday}`).expect(200);
    await settle(host);
    const entries = await entriesOf(host, journeyId);
    expect(entries.map((e) => e.SubscriberID)).toEqual([s.alice.subscriberId]);
  });

  it('a click on a link matching the pattern enrols; another link does not', async () => {
    const { subscribers: s, emails } = host.demo;
    const journeyId = await insertJourney(host, {
      trigger: { type: 'link_clicked', emailIds: 'any', link: { match: 'pattern', value: 'https://example.com/off*' } },
      actions: longWait,
    });
    await request(host.server)
      .get(`/track/click/${s.dave.listId}/${s.dave.subscriberId}/${emails.newsletter}`)
      .query({ URL: 'https://example.com/offer?x=1' })
      .expect(302);
    await request(host.server)
      .get(`/track/click/${s.alice.listId}/${s.alice.subscriberId}/${emails.newsletter}`)
      .query({ URL: 'https://other.example.org/' })
      .expect(302);
    await settle(host);
    const entries = await entriesOf(host, journeyId);
    expect(entries.map((e) => e.SubscriberID)).toEqual([s.dave.subscriberId]);
  });

  it('a conversion postback with the channel and at least the minimum value enrols, once per event id', async () => {
    const { subscribers: s, emails } = host.demo;
    // No actions: the entry completes at once, so a second enrolment would be allowed if the event counted twice.
    const journeyId = await insertJourney(host, { trigger: { type: 'conversion', emailIds: [emails.newsletter], channel: 'web', minValue: 10 }, actions: [] });
    const postback = (subscriberId: number, value: number, tx: string) =>
      request(host.server)
        .post('/track/postback')
        .send({ ListID: 1, SubscriberID: subscriberId, EmailID: emails.newsletter, Channel: 'web', Value: value, TransactionID: tx })
        .expect(200);
    await postback(s.dave.subscriberId, 25, 'tx-1');
    await postback(s.dave.subscriberId, 25, 'tx-1'); // the same conversion delivered again: same event id
    await postback(s.bob.subscriberId, 5, 'tx-2'); // below the minimum value
    await settle(host);
    const entries = await entriesOf(host, journeyId);
    expect(entries.map((e) => [e.SubscriberID, e.State])).toEqual([[s.dave.subscriberId, 'completed']]);
    await postback(s.dave.subscriberId, 30, 'tx-3'); // a new conversion: allowed to enter again
    await settle(host);
    expect((await entriesOf(host, journeyId)).map((e) => e.SubscriberID)).toEqual([s.dave.subscriberId, s.dave.subscriberId]);
  });

  it('a manual journey is entered only through the API, never by an event', async () => {
    const { subscribers: s, userA, lists } = host.demo;
    const journeyId = await insertJourney(host, { trigger: { type: 'manual' }, actions: longWait });
    await request(host.server).post('/api/subscribers/subscribe').send({ ListID: lists.newsletter, EmailAddress: 'manual.no@example.com' }).expect(200);
    const result = await runtimeOf(host).scheduler.enrolManually(userA.userId, journeyId, [s.alice, s.dave]);
    expect(result.enrolled).toBe(2);
    await settle(host);
    const entries = await entriesOf(host, journeyId);
    expect(entries.map((e) => [e.SubscriberID, e.State])).toEqual([
      [s.alice.subscriberId, 'waiting'],
      [s.dave.subscriberId, 'waiting'],
    ]);
    await expect(runtimeOf(host).scheduler.enrolManually(host.demo.userB.userId, journeyId, [s.alice])).rejects.toThrow(/not found/);
  });

  it('the same event delivered twice enrols once; a live entry blocks re-entry; "once" journeys never twice', async () => {
    const { userA, lists } = host.demo;
    const vip = await request(host.server).post('/api/subscribers/subscribe').send({ ListID: lists.vip, EmailAddress: 'vip.dup@example.com' }).expect(200);
    const allow = await insertJourney(host, { trigger: { type: 'subscription', listIds: [lists.vip] }, actions: longWait });
    const once = await insertJourney(host, { trigger: { type: 'subscription', listIds: [lists.vip] }, actions: [], reEntry: 'once' });
    const { intake } = runtimeOf(host);
    const event = (id: string): TriggerEvent => ({
      eventId: id,
      type: 'subscription',
      userId: userA.userId,
      listId: lists.vip,
      subscriberId: vip.body.SubscriberID,
      occurredAt: new Date(),
    });
    expect(await intake.accept(event('dup-1'))).toEqual({ enrolled: 2 });
    expect(await intake.accept(event('dup-1'))).toEqual({ enrolled: 0 });
    // A new event while the "allow" entry is still waiting and the "once" entry has completed: nobody enters.
    await settle(host);
    expect(await intake.accept(event('dup-2'))).toEqual({ enrolled: 0 });
    expect((await entriesOf(host, allow)).length).toBe(1);
    expect((await entriesOf(host, once)).map((e) => e.State)).toEqual(['completed']);
    // A batch with a repeated id and an old id.
    const many = await intake.acceptMany([event('dup-1'), event('dup-3'), event('dup-3')]);
    expect(many).toMatchObject({ enrolled: 0, duplicates: 2 });
  });

  it('concurrent hook events are coalesced into one batch and each caller learns its own count', async () => {
    const { userA, lists } = host.demo;
    const table = host.tables.subscribers(lists.vip);
    const values = Array.from({ length: 30 }, (_, i) => `('burst${i}@example.com', 'Subscribed', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '')`);
    await host.sequelize.query(
      `INSERT INTO \`${table}\` (EmailAddress, SubscriptionStatus, SubscriptionDate, OptInDate, SubscriptionIP) VALUES ${values.join(',')}`,
    );
    const ids = (
      await host.query<{ SubscriberID: number }>(`SELECT SubscriberID FROM \`${table}\` WHERE EmailAddress LIKE 'burst%' ORDER BY SubscriberID`)
    ).map((r) => r.SubscriberID);
    const journeyId = await insertJourney(host, { trigger: { type: 'subscription', listIds: [lists.vip] }, actions: longWait });
    const event = (subscriberId: number, id = `burst-${subscriberId}`): TriggerEvent => ({
      eventId: id,
      type: 'subscription',
      userId: userA.userId,
      listId: lists.vip,
      subscriberId,
      occurredAt: new Date(),
    });
    const { intake } = runtimeOf(host);
    const answers = await Promise.all([...ids.map((id) => intake.accept(event(id))), intake.accept(event(ids[0]))]);
    // Every event enrols into this journey and the "allow" one above on VIP (2 each); the repeat of the first event enrols nobody.
    expect(answers.slice(0, 30).every((a) => a.enrolled === answers[0].enrolled && a.enrolled >= 1)).toBe(true);
    expect(answers[30]).toEqual({ enrolled: 0 });
    await settle(host);
    expect((await entriesOf(host, journeyId)).map((e) => e.State)).toEqual(Array(30).fill('waiting'));
  });
});
