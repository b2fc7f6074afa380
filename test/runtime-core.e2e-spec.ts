/**
 * The core path through the reference host: a hook enrols, the worker runs the
 * instant actions, a Wait parks the entry in MySQL, the sweeper wakes it when
 * the (injected) clock reaches its time, and the entry completes.
 */
import request from 'supertest';
import { startReferenceHost, type RefHost } from './support/reference-host';
import { DAY, entriesOf, insertJourney, logOf, MovableClock, runtimeOf, settle } from './support/journey-fixtures';
import type { TriggerEvent } from '../src/engine/trigger-event';
import { RuntimeHealth } from '../src/runtime/runtime.health';
import { RuntimeMetrics } from '../src/runtime/runtime.metrics';

describe('Runtime core path (enrol → run → wait → sweep)', () => {
  let host: RefHost;
  const clock = new MovableClock(new Date('2026-11-27T08:00:00Z'));

  beforeAll(async () => {
    host = await startReferenceHost({ clock });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('runs a subscriber through instant actions, a two-day wait and to the end', async () => {
    const { lists, fields } = host.demo;
    const journeyId = await insertJourney(host, {
      trigger: { type: 'subscription', listIds: [lists.newsletter] },
      actions: [
        { id: 'a1', type: 'update_custom_field', settings: { fieldId: fields.city, value: 'Hello %Subscriber:EmailAddress%' } },
        { id: 'w1', type: 'wait', settings: { amount: 2, unit: 'days' } },
        { id: 'a2', type: 'update_custom_field', settings: { fieldId: fields.firstName, value: 'Woken' } },
      ],
    });
    const res = await request(host.server)
      .post('/api/subscribers/subscribe')
      .send({ ListID: lists.newsletter, EmailAddress: 'new.person@example.com' })
      .expect(200);
    const subscriberId = res.body.SubscriberID as number;
    await settle(host);

    let [entry] = await entriesOf(host, journeyId);
    expect(entry).toMatchObject({ SubscriberID: subscriberId, State: 'waiting', CurrentActionID: 'w1' });
    expect(new Date(entry.WakeAt!).toISOString()).toBe('2026-11-29T08:00:00.000Z');
    const row = await host.subscriberRow({ listId: lists.newsletter, subscriberId });
    expect(String(row![`CustomField${fields.city}`])).toContain('new.person@example.com');

    // A wait beyond the wake horizon lives in MySQL only: no Redis job, and a sweep queues nothing yet.
    expect(await runtimeOf(host).queue.getDelayedCount()).toBe(0);
    const early = await runtimeOf(host).sweeper.sweep();
    expect(early.waits).toBe(0);

    clock.advance(2 * DAY);
    const sweep = await runtimeOf(host).sweeper.sweep();
    expect(sweep.waits).toBe(1);
    await settle(host);
    [entry] = await entriesOf(host, journeyId);
    expect(entry).toMatchObject({ State: 'completed', ActiveLock: null });
    const after = await host.subscriberRow({ listId: lists.newsletter, subscriberId });
    expect(after![`CustomField${fields.firstName}`]).toBe('Woken');
    const log = await logOf(host, entry.EntryID);
    expect(log.map((l) => [l.ActionID, l.Status])).toEqual([
      ['a1', 'done'],
      ['w1', 'done'],
      ['a2', 'done'],
    ]);
  });

  it('a list import (acceptMany) runs the first instant actions inside the enrolment and hands the external ones to the workers', async () => {
    const { lists, fields, userA } = host.demo;
    const table = host.tables.subscribers(lists.vip);
    const values = Array.from({ length: 25 }, (_, i) => `('import${i}@example.com', 'Subscribed', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '')`);
    await host.sequelize.query(
      `INSERT INTO \`${table}\` (EmailAddress, SubscriptionStatus, SubscriptionDate, OptInDate, SubscriptionIP) VALUES ${values.join(',')}`,
    );
    const ids = (await host.query<{ SubscriberID: number }>(`SELECT SubscriberID FROM \`${table}\` WHERE EmailAddress LIKE 'import%'`)).map(
      (r) => r.SubscriberID,
    );
    const journeyId = await insertJourney(host, {
      trigger: { type: 'subscription', listIds: [lists.vip] },
      actions: [
        { id: 'f', type: 'update_custom_field', settings: { fieldId: fields.city, value: 'imported' } },
        { id: 's', type: 'subscribe', settings: { listId: lists.customers } },
        { id: 'w', type: 'wait', settings: { amount: 1, unit: 'days' } },
      ],
    });
    const events: TriggerEvent[] = ids.map((subscriberId) => ({
      eventId: `import-${subscriberId}`,
      type: 'subscription',
      userId: userA.userId,
      listId: lists.vip,
      subscriberId,
      occurredAt: clock.now(),
    }));
    const result = await runtimeOf(host).intake.acceptMany(events);
    expect(result).toMatchObject({ enrolled: 25, duplicates: 0, refused: 0 });
    // Already written when acceptMany returns: no job was needed for the first instant action.
    const cities = await host.query<{ c: string }>(`SELECT CustomField${fields.city} AS c FROM \`${table}\` WHERE EmailAddress LIKE 'import%'`);
    expect(cities.map((r) => r.c)).toEqual(Array(25).fill('imported'));
    await settle(host);
    const entries = await entriesOf(host, journeyId);
    expect(entries.map((e) => [e.State, e.CurrentActionID, e.LastError])).toEqual(Array(25).fill(['waiting', 'w', null]));
    const [customers] = await host.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM \`${host.tables.subscribers(lists.customers)}\` WHERE EmailAddress LIKE 'import%'`,
    );
    expect(Number(customers.n)).toBe(25);
    expect((await logOf(host, entries[0].EntryID)).map((l) => [l.ActionID, l.Status])).toEqual([
      ['f', 'done'],
      ['s', 'done'],
      ['w', 'done'],
    ]);
  });

  it('reports metrics (events, entries by state, actions, queue depth) and health (MySQL, Redis)', async () => {
    const text = await host.app.get(RuntimeMetrics).registry.metrics();
    expect(text).toMatch(/journeys_events_in_total\{outcome="new"\} \d+/);
    expect(text).toMatch(/journeys_entries\{state="waiting"\} \d+/);
    expect(text).toMatch(/journeys_actions_run_total\{type="update_custom_field"\} \d+/);
    expect(text).toMatch(/journeys_queue_depth\{state="delayed"\} \d+/);
    expect(text).toMatch(/journeys_wake_lateness_seconds_count \d+/);
    expect(await host.app.get(RuntimeHealth).check()).toEqual({ status: 'up', mysql: { status: 'up' }, redis: { status: 'up' } });
  });

  it('a 40-day wait is exact (it never reaches a timer until it is near) and wakes through the sweeper', async () => {
    const { subscribers: s, userA } = host.demo;
    const journeyId = await insertJourney(host, {
      trigger: { type: 'manual' },
      actions: [{ id: 'long', type: 'wait', settings: { amount: 40, unit: 'days' } }],
    });
    const startedAt = clock.now();
    await runtimeOf(host).scheduler.enrolManually(userA.userId, journeyId, [s.bob]);
    await settle(host);
    let [entry] = await entriesOf(host, journeyId);
    expect(new Date(entry.WakeAt!).getTime() - startedAt.getTime()).toBe(40 * DAY);
    const wakeJobId = `wake:${entry.EntryID}:${entry.StepSeq}`;
    expect(await runtimeOf(host).queue.getJob(wakeJobId)).toBeNull();
    clock.advance(40 * DAY - 60_000); // a minute before: within the horizon, so the sweeper gives it a delayed job
    await runtimeOf(host).sweeper.sweep();
    expect(await (await runtimeOf(host).queue.getJob(wakeJobId))?.isDelayed()).toBe(true);
    clock.advance(60_000);
    await runtimeOf(host).sweeper.sweep(); // now due: queued to run at once (the delayed job, when it fires, finds the entry moved on)
    await settle(host);
    [entry] = await entriesOf(host, journeyId);
    expect(entry.State).toBe('completed');
  });

  /**
   * 40 new VIP subscribers through two Update Custom Field actions (the second
   * reads the first's write through a merge tag); returns how many values the
   * host was asked to write.
   */
  async function importThroughFieldUpdates(emailPrefix: string): Promise<void> {
    const { lists, fields, userA } = host.demo;
    const table = host.tables.subscribers(lists.vip);
    const values = Array.from({ length: 40 }, (_, i) => `('${emailPrefix}${i}@example.com', 'Subscribed', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '')`);
    await host.sequelize.query(
      `INSERT INTO \`${table}\` (EmailAddress, SubscriptionStatus, SubscriptionDate, OptInDate, SubscriptionIP) VALUES ${values.join(',')}`,
    );
    const ids = (await host.query<{ SubscriberID: number }>(`SELECT SubscriberID FROM \`${table}\` WHERE EmailAddress LIKE ?`, [`${emailPrefix}%`])).map(
      (r) => r.SubscriberID,
    );
    const journeyId = await insertJourney(host, {
      trigger: { type: 'manual' },
      actions: [
        { id: 'a', type: 'update_custom_field', settings: { fieldId: fields.city, value: 'to %Subscriber:EmailAddress%' } },
        { id: 'b', type: 'update_custom_field', settings: { fieldId: fields.firstName, value: '%Subscriber:CustomField2%!' } },
      ],
    });
    await runtimeOf(host).scheduler.enrolManually(
      userA.userId,
      journeyId,
      ids.map((subscriberId) => ({ listId: lists.vip, subscriberId })),
    );
    await settle(host);
    const rows = await host.query<{ e: string; c: string; f: string }>(
      `SELECT EmailAddress AS e, CustomField${fields.city} AS c, CustomField${fields.firstName} AS f FROM \`${table}\` WHERE EmailAddress LIKE ?`,
      [`${emailPrefix}%`],
    );
    expect(rows).toHaveLength(40);
    for (const r of rows) {
      expect(r.c).toBe(`to ${r.e}`);
      expect(r.f).toBe(`to ${r.e}!`); // the second action's merge tag sees the first action's write
    }
  }

  it("uses the host's batch field writer when it offers one (setCustomFields): one statement per field per list", async () => {
    const port = host.ports.subscriptions;
    const batchSizes: number[] = [];
    const batch = port.setCustomFields!.bind(port);
    port.setCustomFields = async (...args: Parameters<typeof batch>) => {
      batchSizes.push(args[2].length);
      return batch(...args);
    };
    try {
      await importThroughFieldUpdates('batch');
      expect(batchSizes.length).toBeLessThan(80);
      expect(batchSizes.reduce((a, b) => a + b, 0)).toBe(80);
    } finally {
      delete (port as Partial<typeof port>).setCustomFields;
    }
  });

  it('falls back to one setCustomField call per value when the host offers no batch writer', async () => {
    const port = host.ports.subscriptions;
    let calls = 0;
    const single = port.setCustomField.bind(port);
    port.setCustomFields = undefined;
    port.setCustomField = async (...args: Parameters<typeof single>) => {
      calls += 1;
      return single(...args);
    };
    try {
      await importThroughFieldUpdates('single');
      expect(calls).toBe(80);
    } finally {
      delete (port as Partial<typeof port>).setCustomFields;
      delete (port as Partial<typeof port>).setCustomField;
    }
  });
});
