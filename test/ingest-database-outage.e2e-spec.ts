/**
 * MySQL unreachable: an event cannot be recorded, so the signed ingest
 * answers 503 with Retry-After at once and takes nothing in, the in-process
 * hook fails at once instead of hanging, and the same post (same webhook-id)
 * is accepted once MySQL is back. The host reaches MariaDB through a proxy of
 * the test's own that refuses every connection on demand; the shared MariaDB
 * is never touched.
 */
import { randomUUID } from 'crypto';
import { performance } from 'perf_hooks';
import request from 'supertest';
import { loadConfig } from '../src/config/env';
import { entriesOf, insertJourney } from './support/journey-fixtures';
import { startTcpProxy, type TcpProxy } from './support/outages';
import { signedHookPost, startReferenceHost, subscribedPayload, type RefHost } from './support/reference-host';

describe('Hook ingest while MySQL is unreachable', () => {
  let proxy: TcpProxy;
  let host: RefHost;

  beforeAll(async () => {
    const shared = loadConfig();
    proxy = await startTcpProxy({ host: shared.DB_HOST, port: shared.DB_PORT });
    host = await startReferenceHost({ env: { DB_HOST: '127.0.0.1', DB_PORT: String(proxy.port) } });
  });
  afterAll(async () => {
    proxy?.restore();
    try {
      await host?.stop();
    } finally {
      await proxy?.close();
    }
  });

  it('answers 503 with Retry-After at once, takes nothing in, fails in-process hooks at once; the same post is accepted once MySQL is back', async () => {
    const { alice } = host.demo.subscribers;
    const journeyId = await insertJourney(host, {
      trigger: { type: 'subscription', listIds: 'any' },
      actions: [{ id: 'w', type: 'wait', settings: { amount: 1, unit: 'days' } }],
    });
    const body = JSON.stringify(subscribedPayload(host, alice));
    const webhookId = `msg_${randomUUID()}`;

    proxy.refuse();
    let started = performance.now();
    const refused = await signedHookPost(host, 'Subscriber.Subscribed', body, webhookId);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.body).toEqual({ Success: false, Errors: [{ Code: 10, Message: expect.stringMatching(/database.*Retry-After/) }] });

    started = performance.now();
    const inProcess = await host.hooks.fire('Subscriber.Subscribed', subscribedPayload(host, alice)).then(
      () => 'accepted',
      () => 'failed',
    );
    expect(inProcess).toBe('failed');
    expect(performance.now() - started).toBeLessThan(2000);

    const health = await request(host.server).get('/journeys/health').expect(503);
    expect(health.body.checks.mysql.status).toBe('down');

    proxy.restore();
    const accepted = await signedHookPost(host, 'Subscriber.Subscribed', body, webhookId);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ Success: true, Duplicate: false, Result: { enrolled: 1 } });
    expect((await entriesOf(host, journeyId)).map((e) => e.SubscriberID)).toEqual([alice.subscriberId]);
  });
});
