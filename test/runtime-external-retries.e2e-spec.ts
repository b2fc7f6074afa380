/**
 * One sender at a time for an external action, and every retry waits its
 * backoff: the claim (the pending log row) counts real attempts and says when
 * the next may start; taking the lease checks both in one statement. Jobs
 * arriving twice for the same entry (the wake job and the sweeper's, two
 * workers) never send a second time early, the webhook-id stays the same, and
 * the attempt cap counts sends.
 */
import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import { startReferenceHost, type RefHost } from './support/reference-host';
import { entriesOf, insertJourney, logOf, MINUTE, MovableClock, runtimeOf } from './support/journey-fixtures';
import { DB } from '../src/core/tokens';
import type { Db } from '../src/database/db';
import { EntryStore } from '../src/runtime/entry-store';
import { normaliseEntry, type EntryRow } from '../src/runtime/entry.types';
import { retryDelayMs } from '../src/runtime/webhook-sender';

/** Answers 500 to the first `failures` deliveries of each webhook-id, then 200; records when (on the test clock) each arrived. */
class FlakyReceiver {
  readonly sends = new Map<string, Date[]>();
  private server!: Server;
  url = '';

  constructor(
    private readonly clock: MovableClock,
    private readonly failures: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const id = String(req.headers['webhook-id']);
        const seen = this.sends.get(id) ?? [];
        seen.push(this.clock.now());
        this.sends.set(id, seen);
        res.writeHead(seen.length <= this.failures ? 500 : 200).end();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('External actions: one sender at a time, every retry after its backoff', () => {
  let host: RefHost;
  const clock = new MovableClock(new Date('2026-11-27T08:00:00Z'));
  const receiver = new FlakyReceiver(clock, 3);

  beforeAll(async () => {
    await receiver.start();
    // ROLE web: no queue worker in this process; the test drives every job itself, twice at a time.
    host = await startReferenceHost({ clock, env: { ROLE: 'web', WEBHOOK_ALLOW_PRIVATE: 'true' } });
  });
  afterAll(async () => {
    await host?.stop();
    await receiver.stop();
  });

  const webhookJourney = () =>
    insertJourney(host, {
      trigger: { type: 'manual' },
      actions: [
        { id: 'hook', type: 'webhook', settings: { url: receiver.url, method: 'POST' } },
        { id: 'after', type: 'update_custom_field', settings: { fieldId: host.demo.fields.city, value: 'delivered' } },
      ],
    });

  it('jobs arriving twice at every wake-up send each delivery once per attempt, each retry after its backoff, with the same webhook-id', async () => {
    const { subscribers: s, userA } = host.demo;
    const journeyId = await webhookJourney();
    const { entryIds } = await runtimeOf(host).scheduler.enrolManually(userA.userId, journeyId, [s.alice, s.bob, s.dave, s.erin]);
    const { worker, sweeper } = runtimeOf(host);
    // Every round: two workers on the same entries at once (the wake job and the sweeper's), and the sweeper itself.
    const round = () => Promise.all([worker.run(entryIds), worker.run([...entryIds].reverse()), sweeper.sweep()]);
    await round();
    for (let i = 0; i < 8; i++) {
      await round(); // before the backoff: nobody sends
      clock.advance(2 * MINUTE + 1); // past the longest backoff so far (60–120 s after the third attempt)
      await round();
    }
    await Promise.all([worker.run(entryIds), worker.run(entryIds)]);

    const entries = await entriesOf(host, journeyId);
    expect(entries.map((e) => e.State)).toEqual(['completed', 'completed', 'completed', 'completed']);
    expect(receiver.sends.size).toBe(4);
    for (const [id, times] of receiver.sends) {
      expect({ id, sends: times.length }).toEqual({ id, sends: 4 }); // 3 failures, 1 success: nobody sent twice
      for (let attempt = 1; attempt < times.length; attempt++) {
        const gap = times[attempt].getTime() - times[attempt - 1].getTime();
        expect(gap).toBeGreaterThanOrEqual(retryDelayMs(attempt, undefined) / 2); // at least the backoff without its jitter
      }
    }
    for (const entry of entries) {
      const [hook] = (await logOf(host, entry.EntryID)).filter((l) => l.ActionID === 'hook');
      expect(hook).toMatchObject({ Status: 'done', Result: 'HTTP 200' });
      const [{ Attempts }] = await host.query<{ Attempts: number }>(
        `SELECT Attempts FROM \`${host.prefix}journeys_log\` WHERE EntryID = ? AND ActionID = 'hook'`,
        [entry.EntryID],
      );
      expect(Attempts).toBe(4); // the cap counts real sends
    }
  });

  it('an entry retrying an external action can be retried now (no wait for its backoff) or skipped', async () => {
    const { subscribers: s, userA, fields } = host.demo;
    receiver.sends.clear();
    const journeyId = await webhookJourney();
    const { entryIds } = await runtimeOf(host).scheduler.enrolManually(userA.userId, journeyId, [s.alice, s.bob]);
    const { worker, scheduler } = runtimeOf(host);
    await worker.run(entryIds); // attempt 1 of each fails
    const [alice, bob] = entryIds;
    expect((await entriesOf(host, journeyId)).map((e) => [e.State, e.Attempts, e.LastError?.startsWith('attempt 1 failed')])).toEqual([
      ['waiting', 1, true],
      ['waiting', 1, true],
    ]);

    await scheduler.retryEntry(alice, userA.userId);
    await worker.run([alice]); // attempt 2 now, not in 15–30 s (the clock did not move)
    expect([...receiver.sends.values()].map((times) => times.length).sort()).toEqual([1, 2]);

    await scheduler.skipEntry(bob, userA.userId);
    await worker.run([bob]);
    const [, bobEntry] = await entriesOf(host, journeyId);
    expect(bobEntry).toMatchObject({ State: 'completed', LastError: null });
    expect((await logOf(host, bob)).map((l) => [l.ActionID, l.Status])).toEqual([
      ['hook', 'skipped'],
      ['after', 'done'],
    ]);
    expect((await host.subscriberRow(s.bob))![`CustomField${fields.city}`]).toBe('delivered');
    await expect(scheduler.retryEntry(bob, userA.userId)).rejects.toThrow(/is completed, not failed or retrying/);
  });

  it('the claim refuses a second attempt before its backoff, gives a due attempt to one taker only, and ignores a stale outcome', async () => {
    const { subscribers: s, userA } = host.demo;
    receiver.sends.clear();
    const journeyId = await webhookJourney();
    const { entryIds } = await runtimeOf(host).scheduler.enrolManually(userA.userId, journeyId, [s.carol]);
    await runtimeOf(host).worker.run(entryIds); // attempt 1 fails: retry in 15–30 s
    const store = host.app.get(EntryStore);
    const [raw] = await host.query<EntryRow>(`SELECT * FROM \`${host.prefix}journeys_entries\` WHERE EntryID = ?`, [entryIds[0]]);
    const entry = normaliseEntry(raw);
    expect(entry).toMatchObject({ State: 'waiting', Attempts: 1 });
    const leaseUntil = () => new Date(clock.now().getTime() + MINUTE);

    const db = host.app.get<Db>(DB);
    const claim = [{ entryId: entry.EntryID, actionId: 'hook' }];
    const take = (owner: string) => store.takeLeases(db, claim, owner, clock.now(), leaseUntil());
    const hookRow = async () =>
      (
        await host.query<{ Status: string; Attempts: number; Result: string | null }>(
          `SELECT Status, Attempts, Result FROM \`${host.prefix}journeys_log\` WHERE EntryID = ? AND ActionID = 'hook'`,
          [entry.EntryID],
        )
      )[0];

    expect([...(await take('early-taker'))]).toEqual([]); // before its backoff
    clock.advance(31_000);
    const takers = await Promise.all(['taker-a', 'taker-b', 'taker-c'].map(take));
    expect(takers.flatMap((t) => [...t.values()])).toEqual([2]); // one taker of three gets attempt 2
    // An outcome of attempt 1 arriving now (its sender lost the lease long ago) changes nothing.
    await store.recordDone([{ ...claim[0], attempt: 1, result: 'HTTP 200' }], clock.now());
    expect(await hookRow()).toEqual({ Status: 'pending', Attempts: 2, Result: null });
    expect(await store.recordRetry(entry, 'hook', 1, 'late', new Date(clock.now().getTime() + 1000), clock.now())).toBe(false);
    await store.recordDone([{ ...claim[0], attempt: 2, result: 'HTTP 200' }], clock.now());
    expect(await hookRow()).toEqual({ Status: 'done', Attempts: 2, Result: 'HTTP 200' });
    const [hook] = (await logOf(host, entry.EntryID)).filter((l) => l.ActionID === 'hook');
    expect(hook).toMatchObject({ Status: 'done', Result: 'HTTP 200' });
  });
});
