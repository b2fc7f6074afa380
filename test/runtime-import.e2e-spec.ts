/**
 * A list import's fresh path (TriggerIntakeService.acceptMany → ListImport.enrolFresh):
 * new entries are inserted where their first step leaves them, with that
 * step's log rows and field writes, in the enrolment transaction. These tests
 * hold it to the guarantees of the insert-then-step path it replaces:
 * re-entry decided by the live-entry key (also against a concurrent
 * transaction), effects exactly once, other journeys' live entries of the same
 * subscribers locked before their facts are read, external actions claimed
 * and carried out once by a worker, exits and Start Journey as in any step.
 */
import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import { Transaction } from 'sequelize';
import { startReferenceHost, type RefHost } from './support/reference-host';
import {
  eventually,
  insertJourney,
  journeyTables,
  logOf,
  MINUTE,
  MovableClock,
  runtimeOf,
  setJourneyStatus,
  settle,
  someoneWaitsOnALock,
} from './support/journey-fixtures';
import type { TriggerEvent } from '../src/engine/trigger-event';
import { EntryStore } from '../src/runtime/entry-store';
import { ListImport } from '../src/runtime/step/list-import';

describe('List import: entries inserted at their first step', () => {
  let host: RefHost;
  let receiver: Server;
  let receiverUrl = '';
  const deliveries: string[] = [];
  const clock = new MovableClock(new Date('2026-11-27T08:00:00Z'));

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        deliveries.push(String(req.headers['webhook-id']));
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    host = await startReferenceHost({ clock, env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
  });
  afterAll(async () => {
    await host?.stop();
    await new Promise((r) => receiver.close(r));
  });

  const t = () => journeyTables(host);
  const city = () => `CustomField${host.demo.fields.city}`;
  const cityTag = () => `%Subscriber:CustomField${host.demo.fields.city}%`;

  /** `n` new VIP subscribers with City = 'c'; their ids. */
  async function newSubscribers(prefix: string, n: number): Promise<number[]> {
    const table = host.tables.subscribers(host.demo.lists.vip);
    const values = Array.from({ length: n }, (_, i) => `('${prefix}${i}@example.com', 'Subscribed', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '', 'c')`);
    await host.sequelize.query(
      `INSERT INTO \`${table}\` (EmailAddress, SubscriptionStatus, SubscriptionDate, OptInDate, SubscriptionIP, ${city()}) VALUES ${values.join(',')}`,
    );
    return (
      await host.query<{ SubscriberID: number }>(`SELECT SubscriberID FROM \`${table}\` WHERE EmailAddress LIKE ? ORDER BY SubscriberID`, [`${prefix}%`])
    ).map((r) => r.SubscriberID);
  }

  function subscriptionEvents(tag: string, ids: number[]): TriggerEvent[] {
    const { userA, lists } = host.demo;
    return ids.map((subscriberId) => ({
      eventId: `${tag}-${subscriberId}`,
      type: 'subscription',
      userId: userA.userId,
      listId: lists.vip,
      subscriberId,
      occurredAt: clock.now(),
    }));
  }

  async function citiesOf(ids: number[]): Promise<Map<number, string>> {
    const rows = await host.query<{ SubscriberID: number; c: string }>(
      `SELECT SubscriberID, ${city()} AS c FROM \`${host.tables.subscribers(host.demo.lists.vip)}\` WHERE SubscriberID IN (?)`,
      [ids],
    );
    return new Map(rows.map((r) => [Number(r.SubscriberID), r.c]));
  }

  interface Row {
    EntryID: number;
    SubscriberID: number;
    State: string;
    CurrentActionID: string | null;
    StepSeq: number;
    ActiveLock: number | null;
    ExitReason: string | null;
    EndedAt: Date | null;
    ChainDepth: number;
  }
  const entries = (journeyId: number) => host.query<Row>(`SELECT * FROM \`${t().entries}\` WHERE JourneyID = ? ORDER BY EntryID`, [journeyId]);

  /** A connection of its own with an open transaction (what another worker or intake would be doing meanwhile). */
  async function otherTransaction(): Promise<{ tx: Transaction; commit(): Promise<void> }> {
    const tx = await host.sequelize.transaction({ isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED });
    return { tx, commit: () => tx.commit() };
  }

  /** On subscription to VIP: append 'x' to the City through a merge tag, then wait a day. */
  function insertAppendXJourney(): Promise<number> {
    return insertJourney(host, {
      trigger: { type: 'subscription', listIds: [host.demo.lists.vip] },
      actions: [
        { id: 'append', type: 'update_custom_field', settings: { fieldId: host.demo.fields.city, value: `${cityTag()}x` } },
        { id: 'wait', type: 'wait', settings: { amount: 1, unit: 'days' } },
      ],
    });
  }

  it('subscribers with a live entry in the journey get no second entry and no second field write', async () => {
    const ids = await newSubscribers('reent', 30);
    const journeyId = await insertAppendXJourney();
    try {
      // Ten of them enter first.
      const first = ids.slice(0, 10);
      expect((await runtimeOf(host).intake.acceptMany(subscriptionEvents('reent-a', first))).enrolled).toBe(10);
      await settle(host);
      // Then the import of all thirty (new event ids): only the twenty without a live entry enter.
      const result = await runtimeOf(host).intake.acceptMany(subscriptionEvents('reent-b', ids));
      expect(result).toMatchObject({ enrolled: 20, duplicates: 0, refused: 0 });
      await settle(host);

      const rows = await entries(journeyId);
      expect(rows).toHaveLength(30);
      expect(new Set(rows.map((r) => r.SubscriberID)).size).toBe(30);
      expect(rows.map((r) => [r.State, r.CurrentActionID, Number(r.StepSeq), r.ActiveLock])).toEqual(Array(30).fill(['waiting', 'wait', 1, 1]));
      expect([...(await citiesOf(ids)).values()]).toEqual(Array(30).fill('cx'));
      const logs = await host.query<{ ActionID: string; Status: string; n: number }>(
        `SELECT ActionID, Status, COUNT(*) AS n FROM \`${t().log}\` WHERE JourneyID = ? GROUP BY ActionID, Status ORDER BY ActionID`,
        [journeyId],
      );
      expect(logs.map((l) => [l.ActionID, l.Status, Number(l.n)])).toEqual([
        ['append', 'done', 30],
        ['wait', 'done', 30],
      ]);
    } finally {
      await setJourneyStatus(host, journeyId, 'Disabled');
    }
  });

  it('a live entry committed by another transaction during the import: that subscriber is not entered again and gets no effect', async () => {
    const ids = await newSubscribers('race', 25);
    const journeyId = await insertJourney(host, {
      trigger: { type: 'subscription', listIds: [host.demo.lists.vip] },
      actions: [{ id: 'append', type: 'update_custom_field', settings: { fieldId: host.demo.fields.city, value: `${cityTag()}x` } }],
    });
    const stepFresh = jest.spyOn(host.app.get(ListImport), 'stepFresh');
    try {
      // Another transaction inserts a live entry for the last subscriber and holds it uncommitted.
      const other = await otherTransaction();
      const now = new Date().toISOString().slice(0, 23).replace('T', ' ');
      await host.sequelize.query(
        `INSERT INTO \`${t().entries}\` (JourneyID, RelOwnerUserID, ListID, SubscriberID, State, ActiveLock, JourneyVersion, ChainID, CreatedAt, UpdatedAt)
         VALUES (?, ?, ?, ?, 'waiting', 1, 1, 'other', ?, ?)`,
        { replacements: [journeyId, host.demo.userA.userId, host.demo.lists.vip, ids[24], now, now], transaction: other.tx },
      );
      // The import admits it (it cannot see the uncommitted row), decides, and its insert waits on the live-entry key.
      const importing = runtimeOf(host).intake.acceptMany(subscriptionEvents('race', ids));
      await someoneWaitsOnALock(host);
      await other.commit();
      const result = await importing;
      expect(result.enrolled).toBe(24);
      await settle(host);

      expect(stepFresh).toHaveBeenCalled(); // the batch went the classic way after the race
      const rows = await entries(journeyId);
      expect(rows).toHaveLength(25);
      expect(rows.filter((r) => r.SubscriberID === ids[24])).toHaveLength(1);
      const cities = await citiesOf(ids);
      expect(ids.slice(0, 24).map((id) => cities.get(id))).toEqual(Array(24).fill('cx'));
      expect(cities.get(ids[24])).toBe('c'); // the import's step never ran for it
      expect(rows.filter((r) => r.State === 'completed')).toHaveLength(24);
    } finally {
      stepFresh.mockRestore();
      await setJourneyStatus(host, journeyId, 'Disabled');
    }
  });

  /**
   * `count` new VIP subscribers waiting in a manual journey that will append 'y'
   * to their City, and an enabled subscription journey that appends 'x'.
   */
  async function twoJourneysAppendingToCity(emailPrefix: string, count: number) {
    const ids = await newSubscribers(emailPrefix, count);
    const { userA, lists, fields } = host.demo;
    const otherJourney = await insertJourney(host, {
      trigger: { type: 'manual' },
      actions: [
        { id: 'pause', type: 'wait', settings: { amount: 1, unit: 'minutes' } },
        { id: 'append_y', type: 'update_custom_field', settings: { fieldId: fields.city, value: `${cityTag()}y` } },
      ],
    });
    await runtimeOf(host).scheduler.enrolManually(
      userA.userId,
      otherJourney,
      ids.map((subscriberId) => ({ listId: lists.vip, subscriberId })),
    );
    await settle(host);
    const otherEntries = (await entries(otherJourney)).map((r) => r.EntryID);
    expect(otherEntries).toHaveLength(count);
    const journeyId = await insertJourney(host, {
      trigger: { type: 'subscription', listIds: [lists.vip] },
      actions: [
        { id: 'append_x', type: 'update_custom_field', settings: { fieldId: fields.city, value: `${cityTag()}x` } },
        { id: 'wait', type: 'wait', settings: { amount: 1, unit: 'days' } },
      ],
    });
    return { ids, lists, otherJourney, otherEntries, journeyId };
  }

  it('locks the live entries the subscribers have in another journey before reading their facts: no lost update of a field both write', async () => {
    const { ids, lists, otherEntries, journeyId } = await twoJourneysAppendingToCity('lock', 25);
    try {
      // A worker in the middle of a step of the other journey: it holds its entries' locks and has written 'cy', not yet committed.
      const other = await otherTransaction();
      await host.sequelize.query(`SELECT EntryID FROM \`${t().entries}\` WHERE EntryID IN (?) ORDER BY EntryID FOR UPDATE`, {
        replacements: [otherEntries],
        transaction: other.tx,
      });
      await host.sequelize.query(`UPDATE \`${host.tables.subscribers(lists.vip)}\` SET ${city()} = CONCAT(${city()}, 'y') WHERE SubscriberID IN (?)`, {
        replacements: [ids],
        transaction: other.tx,
      });
      const importing = runtimeOf(host).intake.acceptMany(subscriptionEvents('lock', ids));
      await someoneWaitsOnALock(host);
      await other.commit();
      expect((await importing).enrolled).toBe(25);
      // The import read the subscribers after the other step committed: its merge tag saw 'cy'.
      expect([...(await citiesOf(ids)).values()]).toEqual(Array(25).fill('cyx'));
    } finally {
      await setJourneyStatus(host, journeyId, 'Disabled');
    }
  });

  it('an import and a worker stepping the same subscribers in another journey at the same time: both appends survive', async () => {
    const { ids, otherJourney, otherEntries, journeyId } = await twoJourneysAppendingToCity('both', 60);
    try {
      clock.advance(2 * MINUTE); // the other journey's wait is due
      const worker = runtimeOf(host).worker;
      // Several workers' batches (in both id orders) and the import, all at once.
      await Promise.all([
        worker.run(otherEntries.slice(0, 30)),
        runtimeOf(host).intake.acceptMany(subscriptionEvents('both', ids)),
        worker.run([...otherEntries].reverse().slice(0, 30)),
      ]);
      await settle(host);
      const cities = [...(await citiesOf(ids)).values()];
      expect(cities.every((c) => c === 'cxy' || c === 'cyx')).toBe(true);
      expect((await entries(otherJourney)).every((r) => r.State === 'completed')).toBe(true);
      expect((await entries(journeyId)).map((r) => r.State)).toEqual(Array(60).fill('waiting'));
    } finally {
      await setJourneyStatus(host, journeyId, 'Disabled');
    }
  });

  it('an import whose first action is external: the claim is pending after the import, a worker carries it out once', async () => {
    const ids = await newSubscribers('ext', 25);
    const journeyId = await insertJourney(host, {
      trigger: { type: 'subscription', listIds: [host.demo.lists.vip] },
      actions: [
        { id: 'hook', type: 'webhook', settings: { url: receiverUrl, method: 'POST' } },
        { id: 'after', type: 'update_custom_field', settings: { fieldId: host.demo.fields.city, value: `${cityTag()}x` } },
      ],
    });
    const { queue } = runtimeOf(host);
    const before = deliveries.length;
    await queue.pause(true); // this process's worker takes no job until resumed
    try {
      const result = await runtimeOf(host).intake.acceptMany(subscriptionEvents('ext', ids));
      expect(result.enrolled).toBe(25);
      const rows = await entries(journeyId);
      expect(rows.map((r) => [r.State, r.CurrentActionID, Number(r.StepSeq), r.ActiveLock])).toEqual(Array(25).fill(['active', 'hook', 1, 1]));
      const claims = await host.query<{ Status: string; LeaseUntil: Date | null }>(`SELECT Status, LeaseUntil FROM \`${t().log}\` WHERE JourneyID = ?`, [
        journeyId,
      ]);
      expect(claims.map((c) => [c.Status, c.LeaseUntil])).toEqual(Array(25).fill(['pending', null]));
      expect(deliveries.length).toBe(before);
      expect(await queue.getWaitingCount()).toBeGreaterThan(0);
    } finally {
      await queue.resume(true);
    }
    try {
      await settle(host);
      await eventually(async () => (await entries(journeyId)).every((r) => r.State === 'completed'), 20_000, 'all completed');
      const mine = deliveries.slice(before);
      expect(mine).toHaveLength(25);
      expect(new Set(mine).size).toBe(25);
      expect([...(await citiesOf(ids)).values()]).toEqual(Array(25).fill('cx'));
      const entry = (await entries(journeyId))[0];
      expect((await logOf(host, entry.EntryID)).map((l) => [l.ActionID, l.Status])).toEqual([
        ['hook', 'done'],
        ['after', 'done'],
      ]);
    } finally {
      await setJourneyStatus(host, journeyId, 'Disabled');
    }
  });

  describe.each([
    ['ids from the insert', false],
    ['ids read back by the live-entry key', true],
  ])('entries that end in their first step, exits and Start Journey (%s)', (_label, readBack) => {
    it('are inserted ended, release the live-entry key, exit other journeys and start the target journey', async () => {
      const store = host.app.get(EntryStore);
      store.assumeInterleavedIds(readBack);
      const prefix = readBack ? 'endb' : 'enda';
      const ids = await newSubscribers(prefix, 24);
      const { userA, lists, fields } = host.demo;
      // A journey they are waiting in, which the import's Exit All Other Journeys ends.
      const bystander = await insertJourney(host, {
        trigger: { type: 'manual' },
        actions: [{ id: 'long', type: 'wait', settings: { amount: 30, unit: 'days' } }],
      });
      await runtimeOf(host).scheduler.enrolManually(
        userA.userId,
        bystander,
        ids.slice(0, 12).map((subscriberId) => ({ listId: lists.vip, subscriberId })),
      );
      await settle(host);
      // The journey Start Journey enters: it writes the first name.
      const target = await insertJourney(host, {
        trigger: { type: 'manual' },
        actions: [{ id: 'named', type: 'update_custom_field', settings: { fieldId: fields.firstName, value: `started ${cityTag()}` } }],
      });
      const journeyId = await insertJourney(host, {
        trigger: { type: 'subscription', listIds: [lists.vip] },
        actions: [
          { id: 'append', type: 'update_custom_field', settings: { fieldId: fields.city, value: `${cityTag()}x` } },
          { id: 'others_out', type: 'exit_all_other_journeys', settings: {} },
          { id: 'start', type: 'start_journey', settings: { journeyId: target } },
        ],
      });
      try {
        const result = await runtimeOf(host).intake.acceptMany(subscriptionEvents(`${prefix}-1`, ids));
        expect(result).toMatchObject({ enrolled: 24, refused: 0 });
        await settle(host);
        let rows = await entries(journeyId);
        expect(rows.map((r) => [r.State, Number(r.StepSeq), r.ActiveLock, r.EndedAt !== null])).toEqual(Array(24).fill(['completed', 1, null, true]));
        expect((await logOf(host, rows[0].EntryID)).map((l) => [l.ActionID, l.Status, l.Result])).toEqual([
          ['append', 'done', 'cx'],
          ['others_out', 'done', 'exited 1'],
          ['start', 'done', 'started'],
        ]);
        const bystanders = await entries(bystander);
        expect(bystanders.map((r) => [r.State, Number(r.StepSeq), r.ActiveLock, r.ExitReason?.startsWith('Exit All Other Journeys')])).toEqual(
          Array(12).fill(['exited', 2, null, true]),
        );
        const targets = await entries(target);
        expect(targets.map((r) => [r.State, Number(r.ChainDepth)])).toEqual(Array(24).fill(['completed', 1]));
        const named = await host.query<{ f: string; c: string }>(
          `SELECT CustomField${fields.firstName} AS f, ${city()} AS c FROM \`${host.tables.subscribers(lists.vip)}\` WHERE SubscriberID IN (?)`,
          [ids],
        );
        expect(named.every((r) => r.f === 'started cx' && r.c === 'cx')).toBe(true);

        // Ended, so a second import enters them again (re-entry allowed), once each.
        expect((await runtimeOf(host).intake.acceptMany(subscriptionEvents(`${prefix}-2`, ids))).enrolled).toBe(24);
        await settle(host);
        rows = await entries(journeyId);
        expect(rows).toHaveLength(48);
        expect([...(await citiesOf(ids)).values()]).toEqual(Array(24).fill('cxx'));
      } finally {
        store.assumeInterleavedIds(false);
        await setJourneyStatus(host, journeyId, 'Disabled');
      }
    });
  });

  it('one import whose two chunks in flight hold the same subscribers (other event ids): one entry and one write each', async () => {
    const ids = await newSubscribers('twice', 1000);
    const journeyId = await insertAppendXJourney();
    try {
      // Chunk one: all thousand; chunk two, enrolled at the same time: the first five hundred again under new event ids.
      const events = [...subscriptionEvents('twice-a', ids), ...subscriptionEvents('twice-b', ids.slice(0, 500))];
      const result = await runtimeOf(host).intake.acceptMany(events);
      expect(result).toMatchObject({ enrolled: 1000, duplicates: 0 });
      await settle(host);
      const rows = await entries(journeyId);
      expect(rows).toHaveLength(1000);
      expect(new Set(rows.map((r) => r.SubscriberID)).size).toBe(1000);
      expect(rows.every((r) => r.State === 'waiting' && r.CurrentActionID === 'wait')).toBe(true);
      expect(new Set((await citiesOf(ids)).values())).toEqual(new Set(['cx']));
      const [logs] = await host.query<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${t().log}\` WHERE JourneyID = ? AND ActionID = 'append'`, [journeyId]);
      expect(Number(logs.n)).toBe(1000);
    } finally {
      await setJourneyStatus(host, journeyId, 'Disabled');
    }
  }, 60_000);

  it("two journeys on the same trigger: the second entry of a subscriber in the batch sees the first one's write", async () => {
    const ids = await newSubscribers('pair', 30);
    const append = (id: string, suffix: string) => ({
      id,
      type: 'update_custom_field' as const,
      settings: { fieldId: host.demo.fields.city, value: `${cityTag()}${suffix}` },
    });
    const one = await insertJourney(host, { trigger: { type: 'subscription', listIds: [host.demo.lists.vip] }, actions: [append('x', 'x')] });
    const two = await insertJourney(host, { trigger: { type: 'subscription', listIds: [host.demo.lists.vip] }, actions: [append('y', 'y')] });
    try {
      expect((await runtimeOf(host).intake.acceptMany(subscriptionEvents('pair', ids))).enrolled).toBe(60);
      const cities = [...(await citiesOf(ids)).values()];
      expect(cities).toHaveLength(30);
      expect(cities.every((c) => c === 'cxy' || c === 'cyx')).toBe(true);
      expect(new Set(cities).size).toBe(1);
    } finally {
      await setJourneyStatus(host, one, 'Disabled');
      await setJourneyStatus(host, two, 'Disabled');
    }
  });

  it('the loop bound still refuses deep causation chains in an import, recorded as exited entries without effects', async () => {
    const ids = await newSubscribers('deep', 22);
    const journeyId = await insertJourney(host, {
      trigger: { type: 'subscription', listIds: [host.demo.lists.vip] },
      actions: [{ id: 'append', type: 'update_custom_field', settings: { fieldId: host.demo.fields.city, value: `${cityTag()}x` } }],
    });
    try {
      const events = subscriptionEvents('deep', ids).map((e, i) => (i < 2 ? { ...e, causation: { chainId: 'loop-chain', depth: 99 } } : e));
      const result = await runtimeOf(host).intake.acceptMany(events);
      expect(result).toMatchObject({ enrolled: 20, refused: 2 });
      await settle(host);
      const rows = await entries(journeyId);
      const refused = rows.filter((r) => r.ExitReason?.startsWith('Loop stopped'));
      expect(refused.map((r) => [r.SubscriberID, r.State, r.ActiveLock])).toEqual([
        [ids[0], 'exited', null],
        [ids[1], 'exited', null],
      ]);
      const cities = await citiesOf(ids);
      expect([cities.get(ids[0]), cities.get(ids[1])]).toEqual(['c', 'c']);
      expect(ids.slice(2).map((id) => cities.get(id))).toEqual(Array(20).fill('cx'));
      expect(await host.query(`SELECT * FROM \`${t().log}\` WHERE EntryID IN (?)`, [refused.map((r) => r.EntryID)])).toEqual([]);
    } finally {
      await setJourneyStatus(host, journeyId, 'Disabled');
    }
  });
});
