/**
 * Exits act on the person: Exit Journey and Exit All Other Journeys end the
 * live entries of every subscriber of the owner's lists with the same email
 * address, never another owner's. Through both ways an entry takes its step:
 * a worker (manual enrolment, then the queue) and the enrolment transaction of
 * a subscription hook or a list import (the fresh path).
 */
import { Transaction } from 'sequelize';
import request from 'supertest';
import { startReferenceHost, type RefHost } from './support/reference-host';
import {
  entriesOf,
  insertJourney,
  journeyTables,
  logOf,
  MovableClock,
  runtimeOf,
  saveActions,
  setJourneyStatus,
  settle,
  someoneWaitsOnALock,
  subscriptionEvents,
  type EntryView,
} from './support/journey-fixtures';
import type { Action } from '../src/engine/journey.types';
import type { SubscriberRef } from '../src/host/host.ports';

const longWait: Action[] = [{ id: 'w', type: 'wait', settings: { amount: 5, unit: 'days' } }];

describe('Exits by person', () => {
  let host: RefHost;
  const clock = new MovableClock(new Date('2026-11-27T08:00:00Z'));

  beforeAll(async () => {
    host = await startReferenceHost({ clock });
  });
  afterAll(async () => {
    await host?.stop();
  });

  const userA = () => host.demo.userA.userId;
  const userB = () => host.demo.userB.userId;

  /** Adds a subscriber with this address straight to a list's table (no hook fires); its ref. */
  async function addSubscriber(listId: number, emailAddress: string): Promise<SubscriberRef> {
    await host.sequelize.query(
      `INSERT INTO \`${host.tables.subscribers(listId)}\` (EmailAddress, SubscriptionStatus, SubscriptionDate, OptInDate) VALUES (?, 'Subscribed', '2026-01-01 00:00:00', '2026-01-01 00:00:00')`,
      { replacements: [emailAddress] },
    );
    const [row] = await host.query<{ SubscriberID: number }>(`SELECT SubscriberID FROM \`${host.tables.subscribers(listId)}\` WHERE EmailAddress = ?`, [
      emailAddress,
    ]);
    return { listId, subscriberId: Number(row.SubscriberID) };
  }

  async function enrol(userId: number, journeyId: number, refs: SubscriberRef[]): Promise<void> {
    await runtimeOf(host).scheduler.enrolManually(userId, journeyId, refs);
    await settle(host);
  }

  const states = (entries: EntryView[]) => entries.map((e) => [e.ListID, e.SubscriberID, e.State]);

  it("Exit Journey ends the person's entry that came in through another of the owner's lists, and nobody else's", async () => {
    const { subscribers: s, lists } = host.demo;
    const b = await insertJourney(host, { name: 'B', trigger: { type: 'manual' }, actions: longWait });
    await enrol(userA(), b, [s.aliceCustomer, s.erin]);
    const exiter = await insertJourney(host, {
      name: 'A',
      trigger: { type: 'manual' },
      actions: [{ id: 'x', type: 'exit_journey', settings: { journeyIds: [b] } }, ...longWait],
    });

    await enrol(userA(), exiter, [s.alice]);

    const inB = await entriesOf(host, b);
    expect(states(inB)).toEqual([
      [lists.customers, s.aliceCustomer.subscriberId, 'exited'],
      [lists.customers, s.erin.subscriberId, 'waiting'],
    ]);
    expect(inB[0]).toMatchObject({ ActiveLock: null, ExitReason: `Exit Journey in journey ${exiter} (action x)` });
    const [own] = await entriesOf(host, exiter);
    expect(own).toMatchObject({ ListID: lists.newsletter, State: 'waiting', CurrentActionID: 'w' });
    expect((await logOf(host, own.EntryID)).map((l) => [l.ActionID, l.Status, l.Result])).toEqual([
      ['x', 'done', 'exited 1'],
      ['w', 'done', expect.any(String)],
    ]);
  });

  it("Exit All Other Journeys on a subscription hook ends the person's entries on the owner's other lists, not the same journey's, not another owner's", async () => {
    const { lists } = host.demo;
    const email = 'pat@example.com';
    const p = await insertJourney(host, { name: 'P', trigger: { type: 'manual' }, actions: longWait });
    const r = await insertJourney(host, {
      name: 'R',
      trigger: { type: 'subscription', listIds: [lists.newsletter, lists.vip] },
      actions: [{ id: 'all', type: 'exit_all_other_journeys', settings: {} }, ...longWait],
    });
    const othersJourney = await insertJourney(host, { ownerUserId: userB(), name: "B's", trigger: { type: 'manual' }, actions: longWait });
    const patCustomer = await addSubscriber(lists.customers, email);
    const patLead = await addSubscriber(lists.leads, email); // the same address on another owner's list
    await enrol(userA(), p, [patCustomer]);
    await enrol(userB(), othersJourney, [patLead]);
    // Through VIP first: that entry of R is the person's, in the same journey.
    await request(host.server).post('/api/subscribers/subscribe').send({ ListID: lists.vip, EmailAddress: email }).expect(200);
    await settle(host);
    expect(states(await entriesOf(host, p))).toEqual([[lists.customers, patCustomer.subscriberId, 'exited']]);
    expect(states(await entriesOf(host, othersJourney))).toEqual([[lists.leads, patLead.subscriberId, 'waiting']]);

    // Enrolled in P again; then through Newsletter into R, whose first step runs inside the hook's enrolment transaction.
    await enrol(userA(), p, [patCustomer]);
    await request(host.server).post('/api/subscribers/subscribe').send({ ListID: lists.newsletter, EmailAddress: email }).expect(200);
    await settle(host);

    const inP = await entriesOf(host, p);
    expect(states(inP)).toEqual([
      [lists.customers, patCustomer.subscriberId, 'exited'],
      [lists.customers, patCustomer.subscriberId, 'exited'],
    ]);
    expect(inP[1].ExitReason).toBe(`Exit All Other Journeys in journey ${r} (action all)`);
    const inR = await entriesOf(host, r);
    expect(inR.map((e) => [e.ListID, e.State])).toEqual([
      [lists.vip, 'waiting'],
      [lists.newsletter, 'waiting'],
    ]);
    expect(states(await entriesOf(host, othersJourney))).toEqual([[lists.leads, patLead.subscriberId, 'waiting']]);
    await setJourneyStatus(host, r, 'Disabled'); // the next tests subscribe people to VIP
  });

  it("a list import exits each imported person's entries on the owner's other lists, looking the people up once per batch", async () => {
    const { lists } = host.demo;
    const p = await insertJourney(host, { name: 'P2', trigger: { type: 'manual' }, actions: longWait });
    const r = await insertJourney(host, {
      name: 'Import',
      trigger: { type: 'subscription', listIds: [lists.vip] },
      actions: [{ id: 'out', type: 'exit_journey', settings: { journeyIds: [p] } }, ...longWait],
    });
    const people = ['imp0@example.com', 'imp1@example.com', 'imp2@example.com'];
    const customers: SubscriberRef[] = [];
    for (const email of people) customers.push(await addSubscriber(lists.customers, email));
    await enrol(userA(), p, customers);
    const imported: number[] = [];
    for (const email of people.slice(0, 2)) imported.push((await addSubscriber(lists.vip, email)).subscriberId);
    const lookups = jest.spyOn(host.ports.audience, 'findSameEmailSubscribers');

    const result = await runtimeOf(host).intake.acceptMany(subscriptionEvents(host, lists.vip, imported, 'import-exit', clock.now()));
    await settle(host);

    expect(result.enrolled).toBe(2);
    expect(states(await entriesOf(host, p))).toEqual([
      [lists.customers, customers[0].subscriberId, 'exited'],
      [lists.customers, customers[1].subscriberId, 'exited'],
      [lists.customers, customers[2].subscriberId, 'waiting'],
    ]);
    expect((await entriesOf(host, r)).map((e) => e.State)).toEqual(['waiting', 'waiting']);
    expect(lookups).toHaveBeenCalledTimes(1);
    expect(lookups.mock.calls[0][1]).toHaveLength(2);
    lookups.mockRestore();
    await setJourneyStatus(host, r, 'Disabled'); // the next tests subscribe people to VIP
  });

  it.each(['a worker', 'a list import'])(
    "locks the person's entry on the other list before deciding, through %s: one another worker ends meanwhile is not exited over",
    async (path) => {
      const { lists } = host.demo;
      const email = `locked.${path.replace(/\W/g, '')}@example.com`;
      const onCustomers = await addSubscriber(lists.customers, email);
      const onVip = await addSubscriber(lists.vip, email);
      const b = await insertJourney(host, { name: 'B3', trigger: { type: 'manual' }, actions: longWait });
      await enrol(userA(), b, [onCustomers]);
      const [inB] = await entriesOf(host, b);
      const exiter = await insertJourney(host, {
        name: 'A3',
        trigger: { type: 'subscription', listIds: [lists.vip] },
        actions: [{ id: 'x', type: 'exit_journey', settings: { journeyIds: [b] } }],
      });

      // A worker in the middle of a step of B: it holds the entry's lock and has completed it, not yet committed.
      const other = await host.sequelize.transaction({ isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED });
      let committed = false;
      try {
        await host.sequelize.query(`SELECT EntryID FROM \`${journeyTables(host).entries}\` WHERE EntryID = ? FOR UPDATE`, {
          replacements: [inB.EntryID],
          transaction: other,
        });
        await host.sequelize.query(
          `UPDATE \`${journeyTables(host).entries}\` SET State = 'completed', ActiveLock = NULL, EndedAt = NOW(3), StepSeq = StepSeq + 1 WHERE EntryID = ?`,
          { replacements: [inB.EntryID], transaction: other },
        );
        const stepping =
          path === 'a worker'
            ? runtimeOf(host).scheduler.enrolManually(userA(), exiter, [onVip])
            : runtimeOf(host).intake.acceptMany(subscriptionEvents(host, lists.vip, [onVip.subscriberId], 'locked', clock.now()));
        await someoneWaitsOnALock(host);
        await other.commit();
        committed = true;
        await stepping;
      } finally {
        if (!committed) await other.rollback(); // a failed test must not leave the lock behind for the host's stop
        await setJourneyStatus(host, exiter, 'Disabled'); // the next subscriptions to VIP do not enter it
      }
      await settle(host);

      expect(await entriesOf(host, b)).toEqual([expect.objectContaining({ EntryID: inB.EntryID, State: 'completed', ExitReason: null })]);
      const [own] = await entriesOf(host, exiter);
      expect(own.State).toBe('completed');
      expect((await logOf(host, own.EntryID)).map((l) => [l.ActionID, l.Result])).toEqual([['x', 'exited 0']]);
    },
  );

  it("Exit Journey naming its own journey takes the person's other entry in that journey out too", async () => {
    const { subscribers: s, lists, fields } = host.demo;
    // Bob on Customers too: that subscriber has a Plan and waits; his Newsletter subscriber has none and reaches Exit Journey.
    const bobCustomer = await addSubscriber(lists.customers, s.bob.emailAddress);
    await host.sequelize.query(`UPDATE \`${host.tables.subscribers(lists.customers)}\` SET CustomField${fields.plan} = 'Free' WHERE SubscriberID = ?`, {
      replacements: [bobCustomer.subscriberId],
    });
    const journey = await insertJourney(host, { name: 'Self exit', trigger: { type: 'manual' }, actions: [] });
    await saveActions(host, journey, [
      {
        id: 'c',
        type: 'condition',
        settings: { match: 'all', rules: [{ attribute: `CustomField:${fields.plan}`, operator: 'is_set' }] },
        yes: longWait,
        no: [{ id: 'x', type: 'exit_journey', settings: { journeyIds: [journey] } }],
      },
    ]);
    await enrol(userA(), journey, [bobCustomer]);
    expect(states(await entriesOf(host, journey))).toEqual([[lists.customers, bobCustomer.subscriberId, 'waiting']]);

    await enrol(userA(), journey, [s.bob]);

    const entries = await entriesOf(host, journey);
    expect(states(entries)).toEqual([
      [lists.customers, bobCustomer.subscriberId, 'exited'],
      [lists.newsletter, s.bob.subscriberId, 'exited'],
    ]);
    expect(entries[0].ExitReason).toBe(`Exit Journey in journey ${journey} (action x)`);
    expect(entries[1]).toMatchObject({ CurrentActionID: 'x', ExitReason: 'Exit Journey' });
  });
});
