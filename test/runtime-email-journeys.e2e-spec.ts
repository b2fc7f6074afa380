/**
 * Journeys that send email and wait for people, end to end through the
 * reference host (real MariaDB and Redis, the host's outbox and tracking
 * URLs): Send Email (sent, skipped, exit), Wait for event (Yes on an open
 * through the tracking URL, No at the timeout, an event that arrived before
 * the entry started waiting, exactly one branch when the event and the
 * timeout race), Random split (one path per entry, the same on every run,
 * by the entry's identity), and goals (a conversion takes a waiting entry
 * out as converted; a custom field goal converts at once).
 */
import request from 'supertest';
import { startReferenceHost, type RefHost } from './support/reference-host';
import { entriesOf, HOUR, insertJourney, logOf, MINUTE, MovableClock, runtimeOf, settle, subscriptionEvents } from './support/journey-fixtures';
import type { Action, JourneyGoal } from '../src/engine/journey.types';
import { splitPath } from '../src/engine/step';
import { pluginTables } from '../src/database/tables';
import type { DemoData } from '../reference-host/seed';

describe('Journeys that send email and wait for people', () => {
  let host: RefHost;
  const clock = new MovableClock(new Date('2026-11-27T08:00:00Z'));

  beforeAll(async () => {
    host = await startReferenceHost({ clock });
  });
  afterAll(async () => {
    await host?.stop();
  });

  const city = () => `CustomField${host.demo.fields.city}`;
  const cityOf = async (ref: { listId: number; subscriberId: number }) => (await host.subscriberRow(ref))?.[city()];
  const outbox = () =>
    host.query<{ RelSubscriberID: number; RelEmailID: number; JourneyID: number; Status: string }>(
      `SELECT * FROM \`${host.prefix}email_outbox\` ORDER BY OutboxID`,
    );
  const enrol = async (journeyId: number, refs: { listId: number; subscriberId: number }[]) => {
    const { entryIds } = await runtimeOf(host).scheduler.enrolManually(host.demo.userA.userId, journeyId, refs);
    await settle(host);
    return entryIds;
  };
  const journeyWith = (actions: Action[], goal?: JourneyGoal) =>
    insertJourney(host, { trigger: { type: 'manual' }, actions }).then(async (journeyId) => {
      if (goal)
        await host.sequelize.query(`UPDATE \`${pluginTables(host.prefix).journeys}\` SET Goal = ? WHERE JourneyID = ?`, {
          replacements: [JSON.stringify(goal), journeyId],
        });
      return journeyId;
    });
  const setCity = (value: string): Action => ({ id: `city-${value}`, type: 'update_custom_field', settings: { fieldId: host.demo.fields.city, value } });
  /** The host's Email.Opened hook payload: this subscriber opened the newsletter at `occurredAt`. */
  const openOf = (subscriber: DemoData['subscribers'][keyof DemoData['subscribers']], eventId: string, occurredAt: Date) => ({
    EventID: eventId,
    UserID: host.demo.userA.userId,
    ListID: subscriber.listId,
    SubscriberID: subscriber.subscriberId,
    EmailAddress: subscriber.emailAddress,
    EmailID: host.demo.emails.newsletter,
    CampaignID: null,
    AutoResponderID: null,
    OccurredAt: occurredAt.toISOString(),
  });

  describe('Send Email', () => {
    it('asks the host to send the email (recorded in its outbox once, with the journey) and goes on', async () => {
      const { subscribers: s, emails } = host.demo;
      const journeyId = await journeyWith([
        { id: 'send', type: 'send_email', settings: { emailId: emails.welcome, whenUndeliverable: 'skip' } },
        setCity('sent'),
      ]);
      const before = (await outbox()).length;
      const [entryId] = await enrol(journeyId, [s.alice]);
      const sent = (await outbox()).slice(before);
      expect(sent.map((r) => [r.RelSubscriberID, r.RelEmailID, r.JourneyID, r.Status])).toEqual([[s.alice.subscriberId, emails.welcome, journeyId, 'sent']]);
      expect((await logOf(host, entryId)).map((l) => [l.ActionID, l.Status, l.Result?.startsWith('sent #')])).toEqual([
        ['send', 'done', true],
        ['city-sent', 'done', false],
      ]);
      await runtimeOf(host).worker.run([entryId]); // a job run again sends nothing more
      expect((await outbox()).length).toBe(before + 1);
    });

    it('skips it for a subscriber who cannot receive it (unsubscribed) and goes on, or exits when the action says so', async () => {
      const { subscribers: s, emails } = host.demo;
      const skip = await journeyWith([
        { id: 'send', type: 'send_email', settings: { emailId: emails.welcome, whenUndeliverable: 'skip' } },
        setCity('went-on'),
      ]);
      const [skipped] = await enrol(skip, [s.carol]);
      expect((await logOf(host, skipped)).map((l) => [l.ActionID, l.Status, l.Detail])).toEqual([
        ['send', 'skipped', expect.stringContaining('not subscribed')],
        ['city-went-on', 'done', null],
      ]);
      const exit = await journeyWith([{ id: 'send', type: 'send_email', settings: { emailId: emails.welcome, whenUndeliverable: 'exit' } }, setCity('never')]);
      await enrol(exit, [s.carol]);
      const [entry] = await entriesOf(host, exit);
      expect(entry).toMatchObject({ State: 'exited', ExitReason: expect.stringContaining('cannot receive it (not subscribed') });
      expect(await cityOf(s.carol)).not.toBe('never');
    });
  });

  describe('Wait for event', () => {
    const journey = () =>
      journeyWith([
        { id: 'send', type: 'send_email', settings: { emailId: host.demo.emails.newsletter, whenUndeliverable: 'skip' } },
        {
          id: 'wait',
          type: 'wait_for_event',
          settings: { event: { type: 'email_opened', emailIds: { sentBy: 'send' } }, timeout: { amount: 2, unit: 'days' } },
          yes: [setCity('opened')],
          no: [setCity('not-opened')],
        },
      ]);

    it('takes Yes as soon as the open arrives (through the host tracking URL), and No at the timeout', async () => {
      const { subscribers: s, emails } = host.demo;
      const journeyId = await journey();
      const [alice, bob] = await enrol(journeyId, [s.alice, s.bob]);
      expect((await entriesOf(host, journeyId)).map((e) => [e.State, e.CurrentActionID])).toEqual([
        ['waiting', 'wait'],
        ['waiting', 'wait'],
      ]);
      clock.advance(MINUTE);
      await request(host.server).get(`/track/open/${s.alice.listId}/${s.alice.subscriberId}/${emails.newsletter}`).expect(200);
      await settle(host); // the intake woke the entry: no sweep, no clock past the timeout
      expect(await cityOf(s.alice)).toBe('opened');
      expect((await logOf(host, alice)).find((l) => l.ActionID === 'wait')?.Result).toMatch(/^yes: opened-\d+$/);

      clock.advance(2 * 24 * HOUR);
      await runtimeOf(host).sweeper.sweep();
      await settle(host);
      expect(await cityOf(s.bob)).toBe('not-opened');
      expect((await logOf(host, bob)).find((l) => l.ActionID === 'wait')?.Result).toBe('no: timed out');
    });

    it('the open moves the entry in the transaction that records it: Yes has committed when the hook returns, no job queued', async () => {
      const { subscribers: s } = host.demo;
      const journeyId = await journey();
      const [entryId] = await enrol(journeyId, [s.erin]);
      const { queue } = runtimeOf(host);
      await queue.pause(true); // this process's workers take no job: only the intake itself can move the entry
      try {
        clock.advance(MINUTE);
        await host.hooks.fire('Email.Opened', openOf(s.erin, `inline-open-${journeyId}`, clock.now()));
        expect((await logOf(host, entryId)).map((l) => [l.ActionID, l.Status, l.Result])).toEqual([
          ['send', 'done', expect.stringMatching(/^sent #/)],
          ['wait', 'done', `yes: inline-open-${journeyId}`],
          ['city-opened', 'done', 'opened'],
        ]);
        expect(await entriesOf(host, journeyId)).toEqual([expect.objectContaining({ State: 'completed', ActiveLock: null })]);
        expect(await queue.getJobCounts()).toMatchObject({ waiting: 0, active: 0 });
      } finally {
        await queue.resume(true);
      }
    });

    it('an entry the intake enrolled straight to the Wait for event (a list import, a single event) takes Yes on an open too', async () => {
      const { subscribers: s } = host.demo;
      const journeyId = await insertJourney(host, {
        trigger: { type: 'subscription', listIds: [s.erin.listId] },
        actions: [
          {
            id: 'wait',
            type: 'wait_for_event',
            settings: { event: { type: 'email_opened', emailIds: 'any' }, timeout: { amount: 2, unit: 'days' } },
            yes: [setCity('opened-after-import')],
            no: [],
          },
        ],
      });
      clock.advance(MINUTE); // after the opens of the tests before
      const enrolledAt = clock.now();
      const { intake } = runtimeOf(host);
      expect(await intake.acceptMany(subscriptionEvents(host, s.erin.listId, [s.erin.subscriberId], `import-${journeyId}`, enrolledAt))).toMatchObject({
        enrolled: 1,
      });
      const [entry] = await host.query<{ EntryID: number; State: string; WaitingSince: Date | null }>(
        `SELECT EntryID, State, WaitingSince FROM \`${pluginTables(host.prefix).entries}\` WHERE JourneyID = ?`,
        [journeyId],
      );
      expect(entry).toMatchObject({ State: 'waiting', WaitingSince: enrolledAt });
      clock.advance(MINUTE);
      await host.hooks.fire('Email.Opened', openOf(s.erin, `open-after-import-${journeyId}`, clock.now()));
      await settle(host);
      expect((await logOf(host, entry.EntryID)).map((l) => [l.ActionID, l.Result])).toEqual([
        ['wait', `yes: open-after-import-${journeyId}`],
        ['city-opened-after-import', 'opened-after-import'],
      ]);
    });

    it('an open that arrived before the entry started waiting (after it reached the action) counts', async () => {
      const { subscribers: s } = host.demo;
      const journeyId = await journey();
      // The open is recorded first, stamped a moment after the step that reaches the Wait for event will run.
      await host.hooks.fire('Email.Opened', openOf(s.dave, `early-open-${journeyId}`, new Date(clock.now().getTime() + 1)));
      await enrol(journeyId, [s.dave]);
      await settle(host);
      expect(await cityOf(s.dave)).toBe('opened');
    });

    it('exactly one branch when the open and the timeout race, also with two workers at once', async () => {
      const { subscribers: s } = host.demo;
      const journeyId = await journey();
      const [entryId] = await enrol(journeyId, [s.aliceCustomer]);
      clock.advance(2 * 24 * HOUR + MINUTE); // past the timeout …
      await host.hooks.fire('Email.Opened', openOf(s.aliceCustomer, `race-${journeyId}`, new Date(clock.now().getTime() - 2 * MINUTE))); // … with an open from before it
      const { worker, sweeper } = runtimeOf(host);
      await Promise.all([worker.run([entryId]), worker.run([entryId]), sweeper.sweep()]);
      await settle(host);
      const waitRows = (await logOf(host, entryId)).filter((l) => l.ActionID === 'wait' || l.ActionID.startsWith('city-'));
      expect(waitRows.map((l) => [l.ActionID, l.Result])).toEqual([
        ['wait', expect.stringMatching(/^yes: race-/)],
        ['city-opened', 'opened'],
      ]);
    });
  });

  describe('Random split', () => {
    it('sends each entry down one path, by its identity, the same on every run', async () => {
      const { lists } = host.demo;
      const table = host.tables.subscribers(lists.vip);
      const values = Array.from({ length: 40 }, (_, i) => `('split${i}@example.com', 'Subscribed', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '')`);
      await host.sequelize.query(
        `INSERT INTO \`${table}\` (EmailAddress, SubscriptionStatus, SubscriptionDate, OptInDate, SubscriptionIP) VALUES ${values.join(',')}`,
      );
      const ids = (
        await host.query<{ SubscriberID: number }>(`SELECT SubscriberID FROM \`${table}\` WHERE EmailAddress LIKE 'split%' ORDER BY SubscriberID`)
      ).map((r) => r.SubscriberID);
      const journeyId = await journeyWith([{ id: 'split', type: 'random_split', settings: { percents: [50, 50] }, paths: [[setCity('A')], [setCity('B')]] }]);
      const entryIds = await enrol(
        journeyId,
        ids.map((subscriberId) => ({ listId: lists.vip, subscriberId })),
      );
      await runtimeOf(host).worker.run(entryIds); // run again: nothing changes
      const byPath = { A: 0, B: 0 };
      for (const subscriberId of ids) {
        const expected = 'AB'[splitPath(`${journeyId}:${lists.vip}:${subscriberId}:1`, 'split', [50, 50])] as 'A' | 'B';
        expect(await cityOf({ listId: lists.vip, subscriberId })).toBe(expected);
        byPath[expected]++;
      }
      expect(byPath.A + byPath.B).toBe(40);
      expect(Math.min(byPath.A, byPath.B)).toBeGreaterThan(5); // both paths are taken
      const logs = await host.query<{ Result: string; n: number }>(
        `SELECT Result, COUNT(*) AS n FROM \`${host.prefix}journeys_log\` WHERE JourneyID = ? AND ActionID = 'split' GROUP BY Result ORDER BY Result`,
        [journeyId],
      );
      expect(logs.map((l) => [l.Result, Number(l.n)])).toEqual([
        ['path A', byPath.A],
        ['path B', byPath.B],
      ]);
    });
  });

  describe('Goals', () => {
    it('a conversion takes a waiting entry out as converted at once, naming the event; the others wait on', async () => {
      const { subscribers: s, emails } = host.demo;
      const journeyId = await journeyWith([{ id: 'wait', type: 'wait', settings: { amount: 30, unit: 'days' } }, setCity('never-converted')], {
        type: 'conversion',
        emailIds: 'any',
        minValue: 10,
      });
      await enrol(journeyId, [s.bob, s.dave]);
      clock.advance(MINUTE);
      await request(host.server)
        .get('/track/postback')
        .query({ ListID: s.bob.listId, SubscriberID: s.bob.subscriberId, EmailID: emails.blackFriday, Value: '49.90', TransactionID: `tx-${journeyId}` })
        .expect(200);
      await settle(host);
      const [bob, dave] = await entriesOf(host, journeyId);
      expect(bob).toMatchObject({
        State: 'converted',
        ActiveLock: null,
        ExitReason: expect.stringMatching(/^Goal met: conversion of email \d+ \(value 49\.9\).*event conversion-\d+/),
      });
      expect(dave).toMatchObject({ State: 'waiting', CurrentActionID: 'wait' });
    });

    it('a custom field goal made true by the journey itself converts right there', async () => {
      const { subscribers: s, fields } = host.demo;
      const journeyId = await journeyWith([setCity('Customer'), setCity('after-goal')], {
        type: 'custom_field',
        rule: { attribute: `CustomField:${fields.city}`, operator: 'equals', value: 'customer' },
      });
      await enrol(journeyId, [s.erin]);
      const [entry] = await entriesOf(host, journeyId);
      expect(entry).toMatchObject({ State: 'converted', ExitReason: 'Goal met: custom field 2 equals customer' });
      expect(await cityOf(s.erin)).toBe('Customer');
    });
  });
});
