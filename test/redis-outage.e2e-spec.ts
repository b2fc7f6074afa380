/**
 * A Redis outage, on a throw-away redis-server child (never the shared one):
 * the plug-in logs the lost connection once and its return once; signed
 * ingest posts and in-process hooks are answered at once, their events
 * recorded and enrolled in MySQL (only the queueing after commit waits for
 * Redis); the health check names Redis as down; and once Redis is back (empty,
 * as after a restart without persistence) the entries go on: nothing lost,
 * nothing done twice.
 */
import { performance } from 'perf_hooks';
import request from 'supertest';
import { referenceHostTables } from '../reference-host/schema';
import { entriesOf, eventually, HOUR, insertJourney, logOf, MovableClock, runtimeOf } from './support/journey-fixtures';
import { capturingLogger, redisCommand, startPrivateRedis, type LogLine, type PrivateRedis } from './support/outages';
import { signedHookPost, startReferenceHost, subscribedPayload, type RefHost } from './support/reference-host';

/** What "promptly" means for a caller during the outage. */
const PROMPT_MS = 2000;

async function timed<T>(work: PromiseLike<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work;
  return { result, ms: performance.now() - started };
}

describe('Redis outage', () => {
  let redis: PrivateRedis;
  let host: RefHost;
  const logs: LogLine[] = [];
  const clock = new MovableClock();

  const redisLines = () => logs.filter((line) => line.context === 'JourneysRedis');
  const warnings = () => logs.filter((line) => line.level === 'warn' || line.level === 'error' || line.level === 'fatal');

  beforeAll(async () => {
    redis = await startPrivateRedis();
    host = await startReferenceHost({ clock, env: { REDIS_PORT: String(redis.port) }, logger: capturingLogger(logs) });
  });
  afterAll(async () => {
    try {
      // The app closes its queue and the sandbox deletes its keys: both need Redis up. Bounded, so the server is killed below whatever happens.
      if (!redis?.running) await redis?.start();
      await Promise.race([host?.stop(), new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
    } finally {
      await redis?.close();
    }
  }, 60_000);

  it('answers hooks promptly and enrols in MySQL, logs the outage and its end once each, reports Redis down; afterwards the entries go on once', async () => {
    const { alice, bob, dave, erin } = host.demo.subscribers;
    const journeyId = await insertJourney(host, {
      trigger: { type: 'subscription', listIds: 'any' },
      actions: [
        // External: the entry is queued after its enrolment commits (what the outage skips).
        { id: 'send', type: 'send_email', settings: { emailId: host.demo.emails.welcome, whenUndeliverable: 'skip' } },
        { id: 'wait', type: 'wait', settings: { amount: 1, unit: 'hours' } },
        { id: 'tag', type: 'update_custom_field', settings: { fieldId: host.demo.fields.city, value: 'after the outage' } },
      ],
    });
    await request(host.server).get('/journeys/health').expect(200); // the plug-in's connection is up
    expect(redisLines()).toEqual([]);

    await redis.kill();

    const posts = await Promise.all([alice, bob, dave].map((s) => timed(signedHookPost(host, 'Subscriber.Subscribed', subscribedPayload(host, s)))));
    for (const { result, ms } of posts) {
      expect(result.status).toBe(200);
      expect(result.body).toMatchObject({ Success: true, Duplicate: false, Result: { enrolled: 1 } });
      expect(ms).toBeLessThan(PROMPT_MS);
    }
    const inProcess = await timed(host.hooks.fire('Subscriber.Subscribed', subscribedPayload(host, erin)));
    expect(inProcess.ms).toBeLessThan(PROMPT_MS);

    // Every event was recorded and enrolled: the entries are committed, waiting for a worker to send.
    const enrolled = await entriesOf(host, journeyId);
    const key = (listId: number, subscriberId: number) => `${listId}/${subscriberId}`;
    expect(enrolled.map((e) => key(e.ListID, e.SubscriberID)).sort()).toEqual([alice, bob, dave, erin].map((s) => key(s.listId, s.subscriberId)).sort());
    expect(enrolled.map((e) => e.State)).toEqual(['active', 'active', 'active', 'active']);

    const health = await timed(request(host.server).get('/journeys/health'));
    expect(health.ms).toBeLessThan(PROMPT_MS);
    expect(health.result.status).toBe(503);
    expect(health.result.body.checks).toEqual({ mysql: { status: 'up' }, redis: { status: 'down', error: expect.stringMatching(/connection lost/) } });

    // Logged once, when the connection was lost; nothing else warned, whatever failed to be queued.
    expect(redisLines()).toEqual([expect.objectContaining({ level: 'warn', msg: expect.stringMatching(/Redis connection lost/) })]);
    expect(warnings()).toEqual(redisLines());

    clock.advance(30_000); // the outage lasts
    await redis.start();
    await eventually(async () => redisLines().length === 2, 10_000, 'the end of the outage logged');
    expect(redisLines()).toEqual([
      expect.objectContaining({ level: 'warn', msg: expect.stringMatching(/Redis connection lost/) }),
      expect.objectContaining({ level: 'info', msg: expect.stringMatching(/Redis connection back after \d+\.\d s .*; 4 entries were not queued meanwhile/) }),
    ]);
    await request(host.server).get('/journeys/health').expect(200);

    // Redis came back empty: the sweeper queues the entries again from MySQL; each sends once, then waits.
    await eventually(async () => (await entriesOf(host, journeyId)).every((e) => e.State === 'waiting' && e.CurrentActionID === 'wait'), 20_000, 'the sends');
    clock.advance(2 * HOUR);
    await runtimeOf(host).sweeper.sweep();
    await eventually(async () => (await entriesOf(host, journeyId)).every((e) => e.State === 'completed'), 20_000, 'the entries to complete');

    const entries = await entriesOf(host, journeyId);
    expect(entries).toHaveLength(4);
    const outbox = referenceHostTables(host.prefix).emailOutbox;
    const sends = await host.query<{ EntryID: number; N: number }>(
      `SELECT EntryID, COUNT(*) AS N FROM \`${outbox}\` WHERE JourneyID = ? GROUP BY EntryID ORDER BY EntryID`,
      [journeyId],
    );
    expect(sends.map((s) => [Number(s.EntryID), Number(s.N)])).toEqual(entries.map((e) => [Number(e.EntryID), 1]));
    for (const entry of entries) expect((await logOf(host, entry.EntryID)).map((l) => l.ActionID)).toEqual(['send', 'wait', 'tag']);
    for (const s of [alice, bob, dave, erin]) expect((await host.subscriberRow(s))![`CustomField${host.demo.fields.city}`]).toBe('after the outage');
    expect(redisLines()).toHaveLength(2);
    expect(warnings()).toHaveLength(1);
  });

  it('a Redis that stops answering on a standing connection: answers within the add bound, says so once, and once when queueing works again', async () => {
    const { alice, bob, erin } = host.demo.subscribers;
    // Unsubscriptions, so the first test's journey stays out of it; a wait within the wake horizon is queued after commit.
    const journeyId = await insertJourney(host, {
      trigger: { type: 'unsubscription', listIds: 'any' },
      actions: [
        { id: 'wait', type: 'wait', settings: { amount: 1, unit: 'minutes' } },
        { id: 'tag', type: 'update_custom_field', settings: { fieldId: host.demo.fields.city, value: 'after the pause' } },
      ],
    });
    const unsubscribed = (s: { listId: number; subscriberId: number; emailAddress: string }) =>
      signedHookPost(host, 'Subscriber.Unsubscribed', subscribedPayload(host, s));
    await request(host.server).get('/journeys/health').expect(200);
    const seen = logs.length;
    const since = () => logs.slice(seen).filter((line) => line.context === 'JourneysRedis' || line.level === 'warn' || line.level === 'error');

    // Every client's commands wait, the connection stays up: ioredis would hold an add for as long as this lasts.
    const pausedUntil = Date.now() + 3000;
    expect(await redisCommand(redis.port, 'CLIENT PAUSE 3000 ALL')).toBe('+OK');
    const posts = await Promise.all([alice, bob].map((s) => timed(unsubscribed(s))));
    for (const { result, ms } of posts) {
      expect(result.body).toMatchObject({ Success: true, Result: { enrolled: 1 } });
      expect(ms).toBeLessThan(PROMPT_MS);
    }
    // The answers come at commit; the adds behind them give up after the add bound and say so, once.
    await eventually(async () => since().length > 0, 5000, 'the warning about queueing');
    expect(since()).toEqual([expect.objectContaining({ level: 'warn', msg: expect.stringMatching(/queueing on Redis at .* fails \(no answer in 1000 ms\)/) })]);

    await new Promise((r) => setTimeout(r, Math.max(0, pausedUntil - Date.now()) + 100));
    const after = await timed(unsubscribed(erin));
    expect(after.result.body).toMatchObject({ Success: true, Result: { enrolled: 1 } });
    expect(since()).toEqual([
      expect.objectContaining({ level: 'warn', msg: expect.stringMatching(/fails/) }),
      expect.objectContaining({
        level: 'info',
        msg: expect.stringMatching(/queueing on Redis works again after \d+\.\d s; 2 entries may not have been queued/),
      }),
    ]);

    // The adds that timed out may have landed once Redis answered again; the sweeper queues what did not: every entry goes on once.
    clock.advance(2 * 60_000);
    await runtimeOf(host).sweeper.sweep();
    await eventually(async () => (await entriesOf(host, journeyId)).every((e) => e.State === 'completed'), 20_000, 'the entries to complete');
    const entries = await entriesOf(host, journeyId);
    expect(entries).toHaveLength(3);
    for (const entry of entries) expect((await logOf(host, entry.EntryID)).map((l) => l.ActionID)).toEqual(['wait', 'tag']);
  });
});
