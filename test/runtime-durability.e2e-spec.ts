/**
 * Durability and exactly-once in effect: a job run twice (one after the other
 * and at the same time) applies its effects once; Redis keys deleted while
 * entries wait or are queued lose nothing; disabling freezes entries and
 * enabling resumes them; a live edit that removes an action exits the entries
 * there; a Start Journey loop is stopped and recorded.
 */
import Redis from 'ioredis';
import request from 'supertest';
import { startReferenceHost, type RefHost } from './support/reference-host';
import {
  entriesOf,
  HOUR,
  insertJourney,
  journeyTables,
  logOf,
  MINUTE,
  MovableClock,
  runtimeOf,
  saveActions,
  setJourneyStatus,
  settle,
} from './support/journey-fixtures';
import type { Action } from '../src/engine/journey.types';

async function deleteQueueKeys(host: RefHost): Promise<number> {
  const redis = new Redis({ host: host.config.REDIS_HOST, port: host.config.REDIS_PORT, db: host.config.REDIS_DB });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${host.config.QUEUE_PREFIX}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** City + one "x" per application of the append action: a double effect shows as "xx". */
const appendX = (id: string): Action => ({ id, type: 'update_custom_field', settings: { fieldId: 2, value: '%Subscriber:CustomField2%x' } });

describe('Runtime durability (worker role off: the test drives the worker)', () => {
  let host: RefHost;
  const clock = new MovableClock(new Date('2026-11-27T08:00:00Z'));

  beforeAll(async () => {
    host = await startReferenceHost({ clock, env: { ROLE: 'web' } });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('the same job run twice, in sequence and concurrently, applies its effect once', async () => {
    const { subscribers: s, userA, fields } = host.demo;
    await host.sequelize.query(`UPDATE \`${host.tables.subscribers(1)}\` SET CustomField${fields.city} = 'c' WHERE SubscriberID IN (1, 2, 4)`);
    const journeyId = await insertJourney(host, {
      trigger: { type: 'manual' },
      actions: [appendX('once'), { id: 'w', type: 'wait', settings: { amount: 1, unit: 'days' } }, appendX('twice')],
    });
    const { entryIds } = await runtimeOf(host).scheduler.enrolManually(userA.userId, journeyId, [s.alice, s.bob, s.dave]);
    const { worker } = runtimeOf(host);
    await Promise.all([worker.run(entryIds), worker.run(entryIds), worker.run(entryIds)]);
    await worker.run(entryIds);
    for (const ref of [s.alice, s.bob, s.dave]) expect((await host.subscriberRow(ref))![`CustomField${fields.city}`]).toBe('cx');
    clock.advance(1 + 24 * HOUR);
    await Promise.all([worker.run(entryIds), worker.run([...entryIds].reverse())]);
    await worker.run(entryIds);
    for (const ref of [s.alice, s.bob, s.dave]) expect((await host.subscriberRow(ref))![`CustomField${fields.city}`]).toBe('cxx');
    const entries = await entriesOf(host, journeyId);
    expect(entries.map((e) => e.State)).toEqual(['completed', 'completed', 'completed']);
    for (const e of entries) expect((await logOf(host, e.EntryID)).map((l) => l.ActionID)).toEqual(['once', 'w', 'twice']);
  });

  it('disable freezes entries (no wake, no new entries); enable resumes them and due waits run at once', async () => {
    const { subscribers: s, userA, lists } = host.demo;
    const journeyId = await insertJourney(host, {
      trigger: { type: 'subscription', listIds: [lists.vip] },
      actions: [
        { id: 'w', type: 'wait', settings: { amount: 1, unit: 'hours' } },
        { id: 'end', type: 'exit_this_journey', settings: {} },
      ],
    });
    const { entryIds } = await runtimeOf(host).scheduler.enrolManually(userA.userId, journeyId, [s.alice, s.bob]);
    const { worker, sweeper, intake } = runtimeOf(host);
    await worker.run(entryIds);
    expect((await entriesOf(host, journeyId)).map((e) => e.State)).toEqual(['waiting', 'waiting']);

    await setJourneyStatus(host, journeyId, 'Disabled');
    clock.advance(2 * HOUR);
    await sweeper.sweep();
    await worker.run(entryIds); // even a job that arrives anyway leaves frozen entries alone
    const frozen = await entriesOf(host, journeyId);
    expect(frozen.map((e) => [e.State, e.CurrentActionID])).toEqual([
      ['waiting', 'w'],
      ['waiting', 'w'],
    ]);
    const enrolled = await intake.accept({
      eventId: 'frozen-sub',
      type: 'subscription',
      userId: userA.userId,
      listId: lists.vip,
      subscriberId: 1,
      occurredAt: clock.now(),
    });
    expect(enrolled.enrolled).toBe(0);

    await setJourneyStatus(host, journeyId, 'Enabled');
    await runtimeOf(host).scheduler.resumeJourney(journeyId);
    const jobs = await runtimeOf(host).queue.getWaiting();
    const queued = new Set(jobs.flatMap((j) => j.data.entryIds));
    expect(entryIds.every((id) => queued.has(id))).toBe(true);
    await worker.run(entryIds);
    expect((await entriesOf(host, journeyId)).map((e) => e.State)).toEqual(['exited', 'exited']);
  });

  it('a live edit that removes an action exits the entries there; entries at a kept action go on', async () => {
    const { subscribers: s, userA } = host.demo;
    const actions: Action[] = [
      { id: 'w1', type: 'wait', settings: { amount: 1, unit: 'hours' } },
      { id: 'end', type: 'exit_this_journey', settings: {} },
    ];
    const removed = await insertJourney(host, { trigger: { type: 'manual' }, actions });
    const kept = await insertJourney(host, { trigger: { type: 'manual' }, actions });
    const a = await runtimeOf(host).scheduler.enrolManually(userA.userId, removed, [s.alice]);
    const b = await runtimeOf(host).scheduler.enrolManually(userA.userId, kept, [s.alice]);
    const { worker } = runtimeOf(host);
    await worker.run([...a.entryIds, ...b.entryIds]);
    await saveActions(host, removed, [{ id: 'w2', type: 'wait', settings: { amount: 1, unit: 'hours' } }, actions[1]]);
    await saveActions(host, kept, [actions[0], { id: 'new', type: 'update_custom_field', settings: { fieldId: 2, value: 'edited' } }, actions[1]]);
    clock.advance(2 * HOUR);
    await worker.run([...a.entryIds, ...b.entryIds]);
    const [gone] = await entriesOf(host, removed);
    expect(gone).toMatchObject({ State: 'exited', CurrentActionID: 'w1' });
    expect(gone.ExitReason).toBe('action removed by an edit');
    const [went] = await entriesOf(host, kept);
    expect(went.State).toBe('exited');
    expect((await logOf(host, went.EntryID)).map((l) => l.ActionID)).toEqual(['w1', 'new', 'end']);
  });

  it('exitEntries ends live entries by subscriber or by position, and a queued job for them then does nothing', async () => {
    const { subscribers: s, userA } = host.demo;
    const journeyId = await insertJourney(host, {
      trigger: { type: 'manual' },
      actions: [{ id: 'w', type: 'wait', settings: { amount: 1, unit: 'hours' } }, appendX('never')],
    });
    const { entryIds } = await runtimeOf(host).scheduler.enrolManually(userA.userId, journeyId, [s.alice, s.bob, s.dave]);
    const { worker, scheduler } = runtimeOf(host);
    await worker.run(entryIds);
    expect(await scheduler.exitEntries({ journeyId, refs: [s.alice] }, 'Taken out by the API')).toBe(1);
    expect(await scheduler.exitEntries({ journeyId, actionIds: ['w'] }, 'action removed by an edit')).toBe(2);
    expect(await scheduler.exitEntries({ journeyId, actionIds: ['w'] }, 'again')).toBe(0);
    clock.advance(2 * HOUR);
    await worker.run(entryIds);
    const entries = await entriesOf(host, journeyId);
    expect(entries.map((e) => [e.State, e.ExitReason, e.ActiveLock])).toEqual([
      ['exited', 'Taken out by the API', null],
      ['exited', 'action removed by an edit', null],
      ['exited', 'action removed by an edit', null],
    ]);
    for (const e of entries) expect((await logOf(host, e.EntryID)).map((l) => l.ActionID)).toEqual(['w']);
  });

  it('a Start Journey loop is stopped at the chain bound and recorded, never spins', async () => {
    const { subscribers: s, userA } = host.demo;
    const a = await insertJourney(host, { name: 'Loop A', trigger: { type: 'manual' }, actions: [] });
    const b = await insertJourney(host, {
      name: 'Loop B',
      trigger: { type: 'manual' },
      actions: [{ id: 'toA', type: 'start_journey', settings: { journeyId: a } }],
    });
    await saveActions(host, a, [{ id: 'toB', type: 'start_journey', settings: { journeyId: b } }]);
    const first = await runtimeOf(host).scheduler.enrolManually(userA.userId, a, [s.bob]);
    const { worker } = runtimeOf(host);
    const t = journeyTables(host);
    let pending = first.entryIds;
    for (let hop = 0; hop < 30 && pending.length > 0; hop++) {
      await worker.run(pending);
      const rows = await host.query<{ EntryID: number }>(`SELECT EntryID FROM \`${t.entries}\` WHERE JourneyID IN (?, ?) AND State = 'active'`, [a, b]);
      pending = rows.map((r) => r.EntryID);
    }
    expect(pending).toEqual([]);
    const all = await host.query<{ State: string; ChainDepth: number; ExitReason: string | null }>(
      `SELECT State, ChainDepth, ExitReason FROM \`${t.entries}\` WHERE JourneyID IN (?, ?) ORDER BY ChainDepth`,
      [a, b],
    );
    expect(all.filter((e) => e.State === 'completed').map((e) => e.ChainDepth)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const refused = all.filter((e) => e.State === 'exited');
    expect(refused).toHaveLength(1);
    expect(refused[0].ChainDepth).toBe(11);
    expect(refused[0].ExitReason).toMatch(/Loop stopped/);
  });
});

describe('Runtime with Redis keys deleted (worker role on)', () => {
  let host: RefHost;
  const clock = new MovableClock(new Date('2026-11-27T08:00:00Z'));

  beforeAll(async () => {
    // One job at a time: each entry finishes before the next hop's entry runs. With more, a hop can arrive while the
    // previous entry of that journey is still live, and re-entry (not the depth bound) ends the loop earlier.
    host = await startReferenceHost({ clock, env: { WORKER_CONCURRENCY: '1' } });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('entries waiting on delayed jobs and entries queued but not run all complete after their Redis keys are deleted', async () => {
    const { userA, lists, fields } = host.demo;
    // 30 subscribers in VIP, each enrolled on subscription into a 2-minute wait (within the wake horizon: a delayed job each batch).
    const waiting = await insertJourney(host, {
      trigger: { type: 'subscription', listIds: [lists.vip] },
      actions: [{ id: 'w', type: 'wait', settings: { amount: 2, unit: 'minutes' } }, appendX('after-wait')],
    });
    for (let i = 0; i < 30; i++)
      await request(host.server)
        .post('/api/subscribers/subscribe')
        .send({ ListID: lists.vip, EmailAddress: `flush${i}@example.com`, CustomFields: { [fields.city]: 'c' } })
        .expect(200);
    await settle(host);
    expect((await entriesOf(host, waiting)).every((e) => e.State === 'waiting')).toBe(true);
    expect(await runtimeOf(host).queue.getDelayedCount()).toBeGreaterThan(0);

    // Entries queued but not yet run: this process stops taking jobs for a moment.
    const queued = await insertJourney(host, { trigger: { type: 'manual' }, actions: [appendX('queued')] });
    const { queue, scheduler, sweeper } = runtimeOf(host);
    await queue.pause(true);
    const vipRefs = (await host.query<{ SubscriberID: number }>(`SELECT SubscriberID FROM \`${host.tables.subscribers(lists.vip)}\``)).map((r) => ({
      listId: lists.vip,
      subscriberId: r.SubscriberID,
    }));
    await scheduler.enrolManually(userA.userId, queued, vipRefs);
    expect(await queue.getWaitingCount()).toBeGreaterThan(0);

    expect(await deleteQueueKeys(host)).toBeGreaterThan(0);
    await queue.resume(true);
    expect(await queue.getDelayedCount()).toBe(0);
    expect(await queue.getWaitingCount()).toBe(0);

    clock.advance(3 * MINUTE); // waits due; queued-but-lost entries untouched for more than a minute
    const report = await sweeper.sweep();
    expect(report.waits).toBe(30);
    expect(report.stale).toBe(30);
    await settle(host);
    expect((await entriesOf(host, waiting)).map((e) => e.State)).toEqual(Array(30).fill('completed'));
    expect((await entriesOf(host, queued)).map((e) => e.State)).toEqual(Array(30).fill('completed'));
    const cities = await host.query<{ c: string }>(`SELECT CustomField${fields.city} AS c FROM \`${host.tables.subscribers(lists.vip)}\``);
    expect(cities.map((r) => r.c)).toEqual(Array(30).fill('cxx'));
  });
});

/** A clock that moves one second on every reading, so each host event of a chain gets its own id. */
class TickingClock {
  private t = new Date('2026-11-27T08:00:00Z').getTime();
  now(): Date {
    this.t += 1000;
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

describe('Runtime loop through the host (Subscribe → list → journey → Unsubscribe → …)', () => {
  let host: RefHost;
  const clock = new TickingClock();

  beforeAll(async () => {
    // One job at a time: each entry finishes before the next hop's entry runs. With more, a hop can arrive while the
    // previous entry of that journey is still live, and re-entry (not the depth bound) ends the loop earlier.
    host = await startReferenceHost({ clock, env: { WORKER_CONCURRENCY: '1' } });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('is stopped by the causation depth bound and recorded', async () => {
    const { lists } = host.demo;
    const onSubscribe = await insertJourney(host, {
      trigger: { type: 'subscription', listIds: [lists.vip] },
      actions: [{ id: 'u', type: 'unsubscribe', settings: { listId: lists.vip } }],
    });
    const onUnsubscribe = await insertJourney(host, {
      trigger: { type: 'unsubscription', listIds: [lists.vip] },
      actions: [{ id: 's', type: 'subscribe', settings: { listId: lists.vip } }],
    });
    await request(host.server).post('/api/subscribers/subscribe').send({ ListID: lists.vip, EmailAddress: 'loop@example.com' }).expect(200);
    const t = journeyTables(host);
    // Until no entry of the two journeys is live; a host-path call that hit a lock conflict waits for its retry, so move time on.
    for (let i = 0; i < 100; i++) {
      await settle(host);
      const [row] = await host.query<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${t.entries}\` WHERE JourneyID IN (?, ?) AND ActiveLock = 1`, [
        onSubscribe,
        onUnsubscribe,
      ]);
      if (Number(row.n) === 0) break;
      clock.advance(HOUR);
      await runtimeOf(host).sweeper.sweep();
    }
    const all = await host.query<{ JourneyID: number; State: string; ChainDepth: number; ExitReason: string | null }>(
      `SELECT JourneyID, State, ChainDepth, ExitReason FROM \`${t.entries}\` WHERE JourneyID IN (?, ?) ORDER BY EntryID`,
      [onSubscribe, onUnsubscribe],
    );
    expect(all.filter((e) => e.State === 'completed').map((e) => e.ChainDepth)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const refused = all.filter((e) => e.State === 'exited');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ ChainDepth: 11 });
    expect(refused[0].ExitReason).toMatch(/Loop stopped/);
  });
});
