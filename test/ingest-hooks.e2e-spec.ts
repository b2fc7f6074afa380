/**
 * Signed HTTP hook ingest (POST /journeys/hooks/:hookName) against the
 * reference host: the signature is checked on the raw bytes, the same hook
 * handlers as the in-process bus run, and a webhook-id is processed once.
 */
import { randomUUID } from 'crypto';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { pluginTables, type PluginTables } from '../src/database/tables';
import { HookIngest } from '../src/ingest/hook-ingest.service';
import { disable } from '../src/plugin/lifecycle';
import { startReferenceHost, subscribedPayload, type RefHost } from './support/reference-host';

describe('Hook ingest (POST /journeys/hooks/:hookName)', () => {
  let host: RefHost;
  let t: PluginTables;
  let journeyId: number;

  /** Signs `body` the Standard Webhooks way with the host's HOOK_SECRET. */
  function post(hookName: string, body: string, opts: { id?: string; at?: Date; secret?: string; signature?: string } = {}) {
    const id = opts.id ?? `msg_${randomUUID()}`;
    const at = opts.at ?? new Date();
    const signature = opts.signature ?? new Webhook(opts.secret ?? host.config.HOOK_SECRET).sign(id, at, body);
    return request(host.server)
      .post(`/journeys/hooks/${hookName}`)
      .set('Content-Type', 'application/json')
      .set('webhook-id', id)
      .set('webhook-timestamp', String(Math.floor(at.getTime() / 1000)))
      .set('webhook-signature', signature)
      .send(body);
  }

  const subscribed = (subscriber: { listId: number; subscriberId: number; emailAddress: string }, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ ...subscribedPayload(host, subscriber), ...extra });

  const entriesOf = (subscriber: { listId: number; subscriberId: number }) =>
    host.query(`SELECT EntryID FROM \`${t.entries}\` WHERE JourneyID = ? AND ListID = ? AND SubscriberID = ?`, [
      journeyId,
      subscriber.listId,
      subscriber.subscriberId,
    ]);

  beforeAll(async () => {
    host = await startReferenceHost();
    t = pluginTables(host.prefix);
    const api = (body: Record<string, unknown>) =>
      request(host.server).post('/journeys/api').set('Cookie', host.cookieFor(host.demo.userA.userId)).send(body).expect(200);
    const created = await api({ Command: 'journey.create', Name: 'On subscription', Trigger: { type: 'subscription', listIds: [host.demo.lists.newsletter] } });
    journeyId = created.body.Journey.journeyId;
    await api({ Command: 'journey.actions.update', JourneyID: journeyId, Actions: [{ id: 'wait-1', type: 'wait', settings: { amount: 1, unit: 'days' } }] });
    await api({ Command: 'journey.enable', JourneyID: journeyId });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('a correctly signed Subscriber.Subscribed enrols the subscriber in the matching enabled journey', async () => {
    const { carol } = host.demo.subscribers;
    const res = await post('Subscriber.Subscribed', subscribed(carol)).expect(200);
    expect(res.body).toEqual({ Success: true, Hook: 'Subscriber.Subscribed', Duplicate: false, Result: { enrolled: 1 } });
    expect(await entriesOf(carol)).toHaveLength(1);
  });

  it('accepts a repeated webhook-id once: the second post answers Duplicate and enrols nobody', async () => {
    const { dave } = host.demo.subscribers;
    const id = `msg_${randomUUID()}`;
    const body = subscribed(dave);
    expect((await post('Subscriber.Subscribed', body, { id }).expect(200)).body.Duplicate).toBe(false);
    // A new EventID under the same webhook-id: only the webhook-id dedupe can stop it.
    await host.sequelize.query(`UPDATE \`${t.entries}\` SET State = 'exited', ActiveLock = NULL WHERE JourneyID = ?`, { replacements: [journeyId] });
    const again = await post('Subscriber.Subscribed', subscribed(dave), { id }).expect(200);
    expect(again.body).toEqual({ Success: true, Hook: 'Subscriber.Subscribed', Duplicate: true });
    expect(await entriesOf(dave)).toHaveLength(1);
    expect(await host.query(`SELECT EventID FROM \`${t.events}\` WHERE EventID = ?`, [`ingest:${id}`])).toHaveLength(1);
    // Control: the same post under a new webhook-id does enrol again.
    expect((await post('Subscriber.Subscribed', subscribed(dave)).expect(200)).body.Result).toEqual({ enrolled: 1 });
    expect(await entriesOf(dave)).toHaveLength(2);
  });

  it('a bad signature is 401 and changes nothing', async () => {
    const { bob } = host.demo.subscribers;
    const res = await post('Subscriber.Subscribed', subscribed(bob), {
      secret: 'whsec_' + Buffer.from('another-secret-of-32-bytes-long!').toString('base64'),
    }).expect(401);
    expect(res.body).toEqual({ Success: false, Errors: [{ Code: 7, Message: expect.stringContaining('signature does not match') }] });
    expect(await entriesOf(bob)).toHaveLength(0);
  });

  it('a body changed after signing is 401 (the signature covers the raw bytes)', async () => {
    const { bob } = host.demo.subscribers;
    const body = subscribed(bob);
    const id = 'msg_tampered';
    const signature = new Webhook(host.config.HOOK_SECRET).sign(id, new Date(), body);
    await post('Subscriber.Subscribed', body.replace(/}$/, ' }'), { id, signature }).expect(401);
    expect(await entriesOf(bob)).toHaveLength(0);
  });

  it('missing signature headers are 401', async () => {
    const res = await request(host.server)
      .post('/journeys/hooks/Subscriber.Subscribed')
      .set('Content-Type', 'application/json')
      .send(subscribed(host.demo.subscribers.bob))
      .expect(401);
    expect(res.body.Errors[0].Message).toMatch(/webhook-id, webhook-timestamp and webhook-signature headers are required/);
  });

  it('a stale timestamp (over 5 minutes old) is 401 even with a correct signature', async () => {
    const { bob } = host.demo.subscribers;
    const res = await post('Subscriber.Subscribed', subscribed(bob), { at: new Date(Date.now() - 10 * 60_000) }).expect(401);
    expect(res.body.Errors[0]).toMatchObject({ Code: 7, Message: expect.stringContaining('5 minutes') });
    expect(await entriesOf(bob)).toHaveLength(0);
  });

  it('routes every hook of the manifest to its handler in hooks/', async () => {
    const manifestHooks = ['Subscriber.Subscribed', 'Subscriber.Unsubscribed', 'Email.Opened', 'Link.Clicked', 'Conversion.Postback'];
    expect(host.app.get(HookIngest).hookNames.sort()).toEqual([...manifestHooks].sort());
    for (const hookName of manifestHooks) {
      // An empty object reaches the handler, which names the missing fields.
      const res = await post(hookName, '{}').expect(400);
      expect(res.body.Errors.map((e: { Message: string }) => e.Message).join(' ')).toContain('EventID');
    }
  });

  it('an unknown hook is 404', async () => {
    const res = await post('Subscriber.Exploded', subscribed(host.demo.subscribers.bob)).expect(404);
    expect(res.body.Errors[0]).toMatchObject({ Code: 9, Message: expect.stringContaining('Unknown hook Subscriber.Exploded') });
  });

  it('an invalid payload is 400 naming the field', async () => {
    const { bob } = host.demo.subscribers;
    const res = await post('Subscriber.Subscribed', subscribed(bob, { ListID: 'first' })).expect(400);
    expect(res.body.Success).toBe(false);
    expect(res.body.Errors.map((e: { Message: string }) => e.Message).join(' ')).toMatch(/ListID/);
    expect(await entriesOf(bob)).toHaveLength(0);
  });

  it('a payload that is not JSON is 400', async () => {
    const res = await post('Subscriber.Subscribed', 'EventID=1&ListID=1').expect(400);
    expect(res.body.Errors[0].Message).toMatch(/not valid JSON/);
  });

  it('a failed post can be sent again under the same webhook-id', async () => {
    const { bob } = host.demo.subscribers;
    const id = `msg_${randomUUID()}`;
    await post('Subscriber.Subscribed', subscribed(bob, { SubscriberID: 'x' }), { id }).expect(400);
    expect((await post('Subscriber.Subscribed', subscribed(bob), { id }).expect(200)).body).toMatchObject({ Duplicate: false, Result: { enrolled: 1 } });
  });

  it('a payload over 256 KB is 413', async () => {
    const body = subscribed(host.demo.subscribers.bob, { Padding: 'x'.repeat(300 * 1024) });
    const res = await post('Subscriber.Subscribed', body).expect(413);
    expect(res.body).toEqual({ Success: false, Errors: [{ Code: 8, Message: expect.stringContaining('256 KB') }] });
  });

  it('a payload between the host parser’s 100 KB default and 256 KB is accepted', async () => {
    const { alice } = host.demo.subscribers;
    const res = await post('Subscriber.Subscribed', subscribed(alice, { Padding: 'x'.repeat(200 * 1024) })).expect(200);
    expect(res.body.Result).toEqual({ enrolled: 1 });
  });

  it('counts the posts in the metrics', async () => {
    const text = (await request(host.server).get('/journeys/metrics').expect(200)).text;
    expect(text).toMatch(/journeys_ingest_requests_total\{hook="Subscriber.Subscribed",outcome="accepted"\} \d+/);
    expect(text).toMatch(/journeys_ingest_requests_total\{hook="Subscriber.Subscribed",outcome="unauthorized"\} \d+/);
  });

  // Last: it disables the plug-in.
  it('stops enrolling once the plug-in is disabled, like the in-process hooks (one intake for both transports)', async () => {
    const { carol } = host.demo.subscribers;
    const exitAll = () =>
      host.sequelize.query(`UPDATE \`${t.entries}\` SET State = 'exited', ActiveLock = NULL WHERE JourneyID = ?`, { replacements: [journeyId] });
    await exitAll();
    expect((await post('Subscriber.Subscribed', subscribed(carol)).expect(200)).body.Result).toEqual({ enrolled: 1 });
    await exitAll();
    await disable({ handle: host.plugin });
    const res = await post('Subscriber.Subscribed', subscribed(carol)).expect(200);
    expect(res.body.Result).toEqual({ enrolled: 0 });
  });
});
