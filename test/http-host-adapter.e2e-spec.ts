/**
 * The HTTP host adapter against the reference host's HTTP host API, on real
 * MariaDB and Redis: httpHostPorts() subscribes and unsubscribes through the
 * host's own path (rows, hooks with the causation), the host refuses a bad
 * signature, another user's list, bad fields and huge bodies, and a worker
 * PROCESS with no host module of its own (the adapter is the default, at
 * HOST_API_URL) carries out a journey's Subscribe action over HTTP.
 */
import type { ChildProcess } from 'child_process';
import request from 'supertest';
import { ConfigError, loadConfig } from '../src/config/env';
import { PermanentHostError, type SubscribeRequest, type SubscriptionCommandsPort } from '../src/host/host.ports';
import { HostApiUnavailableError, httpHostPorts, type HttpHostPorts } from '../src/host/http';
import type { SubscribedHookPayload, UnsubscribedHookPayload } from '../src/host/hook-payloads';
import { entriesOf, eventually, insertJourney, logOf, runtimeOf, type EntryView } from './support/journey-fixtures';
import { signedHostApiPost, startReferenceHost, type RefHost } from './support/reference-host';
import { startWorkerProcess, stopWorkerProcess } from './support/worker-process';
import { HOST_SERVICES, type HostServices } from '../reference-host/host-services';

describe('HTTP host adapter with the reference host', () => {
  let host: RefHost;
  let ports: HttpHostPorts;
  let subscribedHooks: SubscribedHookPayload[];
  let unsubscribedHooks: UnsubscribedHookPayload[];

  beforeAll(async () => {
    // ROLE=web: this process takes no queue jobs, so the worker process below does the journey's work.
    host = await startReferenceHost({ listen: true, env: { ROLE: 'web' } });
    ports = httpHostPorts({ ...host.config, HOST_API_URL: `${host.baseUrl}/host-api` }, host.sequelize);
    subscribedHooks = host.captureHook<SubscribedHookPayload>('Subscriber.Subscribed');
    unsubscribedHooks = host.captureHook<UnsubscribedHookPayload>('Subscriber.Unsubscribed');
  });
  afterAll(async () => {
    ports?.close();
    await host?.stop();
  });

  /** A host API request signed like the adapter's (or with another secret). */
  const signedPost = (endpoint: string, body: string, secret?: string) => signedHostApiPost(host, endpoint, body, secret);

  const rowByEmail = async (listId: number, emailAddress: string) =>
    (await host.query<Record<string, unknown>>(`SELECT * FROM \`${host.tables.subscribers(listId)}\` WHERE EmailAddress = ?`, [emailAddress]))[0];

  it('subscribes a new address through the host path: a row in the list and Subscriber.Subscribed fired once with the causation', async () => {
    const { userA, lists, fields } = host.demo;
    const causation = { chainId: 'evt-http-1', depth: 2 };
    const result = await ports.subscriptions.subscribe(
      userA.userId,
      lists.vip,
      { emailAddress: 'http.new@example.com', customFields: { [fields.city]: 'Izmir' } },
      causation,
      'claim_http_1',
    );

    expect(result.alreadySubscribed).toBe(false);
    const row = await rowByEmail(lists.vip, 'http.new@example.com');
    expect(row).toMatchObject({ SubscriberID: result.subscriberId, SubscriptionStatus: 'Subscribed', [`CustomField${fields.city}`]: 'Izmir' });
    const fired = subscribedHooks.filter((h) => h.EmailAddress === 'http.new@example.com');
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({ UserID: userA.userId, ListID: lists.vip, SubscriberID: result.subscriberId, Causation: causation });

    // Reads and field writes go straight to MySQL.
    const ref = { listId: lists.vip, subscriberId: result.subscriberId };
    await ports.subscriptions.setCustomField(userA.userId, ref, fields.firstName, 'Ada');
    expect(await ports.audience.getSubscriber(userA.userId, ref)).toMatchObject({
      emailAddress: 'http.new@example.com',
      customFields: { [fields.firstName]: 'Ada' },
    });
  });

  it('unsubscribes through the host path: the row is unsubscribed and Subscriber.Unsubscribed fired with the causation', async () => {
    const { userA, lists } = host.demo;
    const { subscriberId } = await ports.subscriptions.subscribe(
      userA.userId,
      lists.vip,
      { emailAddress: 'http.leaving@example.com' },
      undefined,
      'claim_http_2',
    );
    const causation = { chainId: 'evt-http-2', depth: 1 };

    await expect(ports.subscriptions.unsubscribe(userA.userId, { listId: lists.vip, subscriberId }, causation, 'claim_http_3')).resolves.toEqual({
      wasSubscribed: true,
    });
    expect(await host.subscriberRow({ listId: lists.vip, subscriberId })).toMatchObject({ SubscriptionStatus: 'Unsubscribed' });
    expect(unsubscribedHooks.filter((h) => h.SubscriberID === subscriberId && h.ListID === lists.vip)).toEqual([
      expect.objectContaining({ EmailAddress: 'http.leaving@example.com', Causation: causation }),
    ]);
    await expect(ports.subscriptions.unsubscribe(userA.userId, { listId: lists.vip, subscriberId }, causation, 'claim_http_4')).resolves.toEqual({
      wasSubscribed: false,
    });
  });

  it("refuses another user's list as a permanent error, writing nothing", async () => {
    const { userA, lists, subscribers } = host.demo;
    const error = await ports.subscriptions
      .subscribe(userA.userId, lists.leads, { emailAddress: 'intruder@example.com' }, undefined, 'claim_http_5')
      .catch((e) => e);
    expect(error).toBeInstanceOf(PermanentHostError);
    expect(error.message).toBe(`List ${lists.leads} not found`);
    expect(await rowByEmail(lists.leads, 'intruder@example.com')).toBeUndefined();

    await expect(ports.subscriptions.unsubscribe(userA.userId, subscribers.frank, undefined, 'claim_http_6')).rejects.toThrow(PermanentHostError);
    expect(await host.subscriberRow(subscribers.frank)).toMatchObject({ SubscriptionStatus: 'Subscribed' });
  });

  it('answers a bad signature with 401 and does nothing', async () => {
    const body = JSON.stringify({ UserID: 1, ListID: host.demo.lists.vip, EmailAddress: 'forged@example.com', IdempotencyKey: 'forged_1' });
    const res = await signedPost('subscribe', body, 'whsec_bm90LXRoZS1ob3N0LWFwaS1zZWNyZXQ=').expect(401);

    expect(res.body).toEqual({ Errors: [{ Code: 7, Message: expect.stringContaining('not accepted') }] });
    expect(await rowByEmail(host.demo.lists.vip, 'forged@example.com')).toBeUndefined();
    await request(host.server).post('/host-api/subscribe').set('Content-Type', 'application/json').send(body).expect(401);
  });

  it('takes a refused signature as transient in the adapter (a deployment problem, not the request)', async () => {
    const wrong = httpHostPorts(
      { ...host.config, HOST_API_URL: `${host.baseUrl}/host-api`, HOST_API_SECRET: 'whsec_bm90LXRoZS1ob3N0LWFwaS1zZWNyZXQ=' },
      host.sequelize,
    );
    try {
      const error = await wrong.subscriptions.subscribe(1, host.demo.lists.vip, { emailAddress: 'forged@example.com' }).catch((e) => e);
      expect(error).toBeInstanceOf(HostApiUnavailableError);
      expect(error.message).toMatch(/HTTP 401.*HOST_API_SECRET/);
    } finally {
      wrong.close();
    }
  });

  it('answers invalid fields with 400 naming each, and an oversized body with 413', async () => {
    const bad = await signedPost('subscribe', JSON.stringify({ UserID: 1, ListID: 'three', IdempotencyKey: 'has space' })).expect(400);
    const messages = (bad.body.Errors as { Message: string }[]).map((e) => e.Message).join('\n');
    for (const name of ['ListID', 'EmailAddress', 'IdempotencyKey']) expect(messages).toContain(name);

    await signedPost('subscribe', '{not json').expect(400, { Errors: [{ Code: 2, Message: 'The subscribe body is not valid JSON' }] });
    const huge = JSON.stringify({ UserID: 1, ListID: 3, EmailAddress: 'big@example.com', IdempotencyKey: 'big_1', Padding: 'x'.repeat(1100 * 1024) });
    const tooLarge = await signedPost('subscribe', huge).expect(413);
    expect(tooLarge.body.Errors[0]).toMatchObject({ Code: 8, Message: expect.stringContaining('1024 KB') });
  });

  it('runs a batch one request at a time: one outcome per request, in order, a bad one failing alone', async () => {
    const { userA, lists } = host.demo;
    const outcomes = await ports.subscriptions.subscribeMany!(userA.userId, [
      { listId: lists.vip, emailAddress: 'batch.one@example.com', idempotencyKey: 'claim_b1' },
      { listId: lists.leads, emailAddress: 'batch.two@example.com', idempotencyKey: 'claim_b2' },
      { listId: lists.vip, emailAddress: 'not an address', idempotencyKey: 'claim_b3' },
      { listId: lists.vip, emailAddress: 'batch.four@example.com', idempotencyKey: 'claim_b4' },
    ]);

    const one = await rowByEmail(lists.vip, 'batch.one@example.com');
    const four = await rowByEmail(lists.vip, 'batch.four@example.com');
    expect(outcomes).toEqual([
      { ok: true, subscriberId: one.SubscriberID, alreadySubscribed: false },
      { ok: false, permanent: true, error: `List ${lists.leads} not found` },
      { ok: false, permanent: true, error: expect.stringContaining('is not a valid email address') },
      { ok: true, subscriberId: four.SubscriberID, alreadySubscribed: false },
    ]);
    const unsubscribed = await ports.subscriptions.unsubscribeMany!(userA.userId, [
      { ref: { listId: lists.vip, subscriberId: Number(four.SubscriberID) }, idempotencyKey: 'claim_b5' },
      { ref: { listId: lists.vip, subscriberId: 999_999 }, idempotencyKey: 'claim_b6' },
    ]);
    expect(unsubscribed).toEqual([
      { ok: true, wasSubscribed: true },
      { ok: false, permanent: true, error: `Subscriber 999999 of list ${lists.vip} not found` },
    ]);
  });

  it("hands the valid requests of a batch to the subscription service's batch call when it has one", async () => {
    const { userA, lists } = host.demo;
    const subscriptions: SubscriptionCommandsPort = host.app.get<HostServices>(HOST_SERVICES).subscriptions;
    const seen: { userId: number; requests: SubscribeRequest[] }[] = [];
    subscriptions.subscribeMany = async (userId, requests) => {
      seen.push({ userId, requests });
      return requests.map((r) => ({ ok: false, permanent: false, error: `held ${r.idempotencyKey}` }));
    };
    try {
      const causation = { chainId: 'evt-many', depth: 3 };
      const outcomes = await ports.subscriptions.subscribeMany!(userA.userId, [
        { listId: lists.vip, emailAddress: 'many.one@example.com', causation, idempotencyKey: 'claim_m1' },
        { listId: 0, emailAddress: 'many.two@example.com', idempotencyKey: 'claim_m2' },
      ]);

      expect(seen).toEqual([
        {
          userId: userA.userId,
          requests: [{ listId: lists.vip, emailAddress: 'many.one@example.com', customFields: {}, causation, idempotencyKey: 'claim_m1' }],
        },
      ]);
      expect(outcomes).toEqual([
        { ok: false, permanent: false, error: 'held claim_m1' },
        { ok: false, permanent: true, error: expect.stringContaining('ListID') },
      ]);
    } finally {
      delete subscriptions.subscribeMany;
    }
  });

  describe('a worker process with the default host ports (HOST_API_URL set, no JOURNEYS_HOST_PORTS)', () => {
    let worker: ChildProcess | undefined;

    afterAll(() => stopWorkerProcess(worker));

    it("carries out a journey's Subscribe action over HTTP: the host subscribes and fires its hook with the journey's causation", async () => {
      const { lists, subscribers, userA } = host.demo;
      worker = await startWorkerProcess(host, { HOST_API_URL: `${host.baseUrl}/host-api` });

      const journeyId = await insertJourney(host, { trigger: { type: 'manual' }, actions: [{ id: 's1', type: 'subscribe', settings: { listId: lists.vip } }] });
      await runtimeOf(host).scheduler.enrolManually(userA.userId, journeyId, [subscribers.bob]);
      await eventually(async () => (await entriesOf(host, journeyId))[0]?.State === 'completed', 30_000, 'the worker process to complete the entry');

      const [entry] = (await entriesOf(host, journeyId)) as (EntryView & { ChainID: string })[];
      expect((await logOf(host, entry.EntryID)).map((l) => [l.ActionID, l.Status])).toEqual([['s1', 'done']]);
      const row = await rowByEmail(lists.vip, subscribers.bob.emailAddress);
      expect(row).toMatchObject({ SubscriptionStatus: 'Subscribed' });
      expect(subscribedHooks.filter((h) => h.ListID === lists.vip && h.EmailAddress === subscribers.bob.emailAddress)).toEqual([
        expect.objectContaining({ SubscriberID: row.SubscriberID, Causation: { chainId: entry.ChainID, depth: entry.ChainDepth + 1 } }),
      ]);
    });
  });
});

describe('HOST_API_* configuration', () => {
  it('defaults to the reference host on PORT and names a bad URL or timeout', () => {
    expect(loadConfig({ PORT: '4100' }).HOST_API_URL).toBe('http://127.0.0.1:4100/host-api');
    expect(loadConfig({ HOST_API_URL: 'https://host.example.com/journeys-api' }).HOST_API_URL).toBe('https://host.example.com/journeys-api');
    let error: unknown;
    try {
      loadConfig({ HOST_API_URL: 'ftp://host.example.com', HOST_API_TIMEOUT_MS: '5', HOST_API_SECRET: 'short' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(/^HOST_API_URL="ftp:\/\/host.example.com": HOST_API_URL must be an http\(s\) URL/),
      expect.stringMatching(/^HOST_API_SECRET \(5 characters, not shown\)/),
      expect.stringMatching(/^HOST_API_TIMEOUT_MS="5"/),
    ]);
  });
});
