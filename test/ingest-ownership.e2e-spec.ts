/**
 * A hook event enrols only into its owner's journeys when its ids are the
 * owner's: the ListID is a list of UserID, the SubscriberID a subscriber of
 * that list, the EmailID one of UserID's emails. Both transports (the signed
 * HTTP ingest and the host's in-process hook bus) refuse anything else with
 * ValidationFailed naming the field, before any entry is written.
 */
import { randomUUID } from 'crypto';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { JourneysErrorCode } from '../src/common/journeys.exception';
import { createListTable } from '../reference-host/schema';
import { startReferenceHost, type RefHost } from './support/reference-host';
import { entriesOf, insertJourney, journeyTables } from './support/journey-fixtures';

const longWait = [{ id: 'w', type: 'wait' as const, settings: { amount: 30, unit: 'days' as const } }];

interface Ids {
  UserID: number;
  ListID: number;
  SubscriberID: number;
  EmailID?: number;
}

describe('Hook events and their owner (ListID, SubscriberID, EmailID belong to UserID)', () => {
  let host: RefHost;
  /** Journeys of user A and user B on subscription to any list, on any open, and of user B on any click: each refused event would enrol into one of them. */
  let subscribedA: number;
  let subscribedB: number;
  let openedA: number;
  let openedB: number;
  let clickedB: number;

  const payload = (ids: Ids) => ({
    EventID: `evt-${randomUUID()}`,
    EmailAddress: 'someone@example.com',
    OccurredAt: new Date().toISOString(),
    ...ids,
    ...(ids.EmailID === undefined ? {} : { CampaignID: null, AutoResponderID: null }),
  });

  /** Posts a payload to the signed ingest, signed with the host's HOOK_SECRET. */
  function post(hookName: string, body: object) {
    const id = `msg_${randomUUID()}`;
    const at = new Date();
    const raw = JSON.stringify(body);
    return request(host.server)
      .post(`/journeys/hooks/${hookName}`)
      .set('Content-Type', 'application/json')
      .set('webhook-id', id)
      .set('webhook-timestamp', String(Math.floor(at.getTime() / 1000)))
      .set('webhook-signature', new Webhook(host.config.HOOK_SECRET).sign(id, at, raw))
      .send(raw);
  }

  const countEntries = async () => (await host.query<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${journeyTables(host).entries}\``))[0].n;
  const entriesFor = async (journeyIds: number[], ref: { ListID: number; SubscriberID: number }) =>
    (await Promise.all(journeyIds.map((id) => entriesOf(host, id)))).flat().filter((e) => e.ListID === ref.ListID && e.SubscriberID === ref.SubscriberID);

  /** Runs `refused` and checks that no journey got an entry for the event's subscriber, nor any other entry. */
  async function expectNothingEnrolled(event: Ids, refused: () => Promise<void>): Promise<void> {
    const journeys = [subscribedA, subscribedB, openedA, openedB, clickedB];
    const [before, total] = [await entriesFor(journeys, event), await countEntries()];
    await refused();
    expect(await entriesFor(journeys, event)).toEqual(before);
    expect(await countEntries()).toBe(total);
  }

  beforeAll(async () => {
    host = await startReferenceHost();
    const { userA, userB } = host.demo;
    subscribedA = await insertJourney(host, { ownerUserId: userA.userId, trigger: { type: 'subscription', listIds: 'any' }, actions: longWait });
    subscribedB = await insertJourney(host, { ownerUserId: userB.userId, trigger: { type: 'subscription', listIds: 'any' }, actions: longWait });
    openedA = await insertJourney(host, { ownerUserId: userA.userId, trigger: { type: 'email_opened', emailIds: 'any' }, actions: longWait });
    openedB = await insertJourney(host, { ownerUserId: userB.userId, trigger: { type: 'email_opened', emailIds: 'any' }, actions: longWait });
    clickedB = await insertJourney(host, { ownerUserId: userB.userId, trigger: { type: 'link_clicked', emailIds: 'any' }, actions: longWait });
  });
  afterAll(async () => {
    await host?.stop();
  });

  describe('signed ingest', () => {
    it.each<[string, string, () => Ids, RegExp]>([
      [
        "user A's UserID with user B's list",
        'Subscriber.Subscribed',
        () => ({ UserID: host.demo.userA.userId, ListID: host.demo.lists.leads, SubscriberID: host.demo.subscribers.frank.subscriberId }),
        /^ListID 4 does not belong to UserID 1$/,
      ],
      [
        "user B's UserID with user A's list",
        'Subscriber.Subscribed',
        () => ({ UserID: host.demo.userB.userId, ListID: host.demo.lists.newsletter, SubscriberID: host.demo.subscribers.bob.subscriberId }),
        /^ListID 1 does not belong to UserID 2$/,
      ],
      [
        'a SubscriberID that is not in the list',
        'Subscriber.Subscribed',
        () => ({ UserID: host.demo.userA.userId, ListID: host.demo.lists.newsletter, SubscriberID: 77 }),
        /^SubscriberID 77 is not a subscriber of list 1$/,
      ],
      [
        "an open of user B's email reported for user A",
        'Email.Opened',
        () => ({ UserID: host.demo.userA.userId, ListID: 1, SubscriberID: 1, EmailID: host.demo.emails.leadsIntro }),
        /^EmailID 5 is not an email of UserID 1$/,
      ],
      [
        'an open of an email nobody has',
        'Email.Opened',
        () => ({ UserID: host.demo.userA.userId, ListID: 1, SubscriberID: 1, EmailID: 999 }),
        /^EmailID 999 is not an email of UserID 1$/,
      ],
    ])('refuses %s with 400 naming the field, and enrols nobody', async (_label, hookName, ids, message) => {
      const event = ids();
      await expectNothingEnrolled(event, async () => {
        const res = await post(hookName, payload(event)).expect(400);
        expect(res.body).toEqual({
          Success: false,
          Errors: [{ Code: JourneysErrorCode.ValidationFailed, Message: expect.stringMatching(message), ActionID: null, Reason: expect.any(String) }],
        });
      });
    });

    it('names every wrong id at once', async () => {
      const res = await post('Email.Opened', payload({ UserID: host.demo.userA.userId, ListID: host.demo.lists.leads, SubscriberID: 1, EmailID: 999 })).expect(
        400,
      );
      expect(res.body.Errors.map((e: { Message: string }) => e.Message)).toEqual([
        'ListID 4 does not belong to UserID 1',
        'EmailID 999 is not an email of UserID 1',
      ]);
    });

    it("a legitimate event still enrols into its owner's journey only", async () => {
      const { frank } = host.demo.subscribers;
      const res = await post(
        'Subscriber.Subscribed',
        payload({ UserID: host.demo.userB.userId, ListID: frank.listId, SubscriberID: frank.subscriberId }),
      ).expect(200);
      expect(res.body.Result).toEqual({ enrolled: 1 });
      expect((await entriesOf(host, subscribedB)).map((e) => [e.ListID, e.SubscriberID])).toEqual([[frank.listId, frank.subscriberId]]);
      expect(await entriesFor([subscribedA], { ListID: frank.listId, SubscriberID: frank.subscriberId })).toEqual([]);

      const { erin } = host.demo.subscribers;
      const opened = await post(
        'Email.Opened',
        payload({ UserID: host.demo.userA.userId, ListID: erin.listId, SubscriberID: erin.subscriberId, EmailID: host.demo.emails.blackFriday }),
      ).expect(200);
      expect(opened.body.Result).toEqual({ enrolled: 1 });
      expect(await entriesFor([openedA], { ListID: erin.listId, SubscriberID: erin.subscriberId })).toHaveLength(1);
    });

    it('a list created after a refusal passes at once (a miss is read again, never remembered)', async () => {
      const { userA } = host.demo;
      const listId = 50;
      const event = { UserID: userA.userId, ListID: listId, SubscriberID: 1 };
      expect((await post('Subscriber.Subscribed', payload(event)).expect(400)).body.Errors[0].Message).toBe('ListID 50 does not belong to UserID 1');

      await host.sequelize.query(`INSERT INTO \`${host.tables.lists}\` (ListID, RelOwnerUserID, Name, CreatedAt) VALUES (?, ?, 'Created later', NOW())`, {
        replacements: [listId, userA.userId],
      });
      await createListTable(host.sequelize, host.prefix, userA.userId, listId);
      await host.sequelize.query(
        `INSERT INTO \`${host.tables.subscribers(listId)}\` (SubscriberID, EmailAddress, SubscriptionDate) VALUES (1, 'late@example.com', NOW())`,
      );

      expect((await post('Subscriber.Subscribed', payload(event)).expect(200)).body.Result).toEqual({ enrolled: 1 });
      expect(await entriesFor([subscribedA], event)).toHaveLength(1);
    });

    it("an email created after the owner's emails were read passes at once", async () => {
      const { userA, subscribers } = host.demo;
      const opened = (emailId: number) =>
        payload({ UserID: userA.userId, ListID: subscribers.dave.listId, SubscriberID: subscribers.dave.subscriberId, EmailID: emailId });
      // Reads (and remembers) user A's emails.
      expect((await post('Email.Opened', opened(host.demo.emails.newsletter)).expect(200)).body.Result).toEqual({ enrolled: 1 });
      const emailId = 60;
      await host.sequelize.query(`INSERT INTO \`${host.tables.emails}\` (EmailID, RelOwnerUserID, EmailName) VALUES (?, ?, 'Created later')`, {
        replacements: [emailId, userA.userId],
      });
      await host.sequelize.query(`UPDATE \`${journeyTables(host).entries}\` SET State = 'exited', ActiveLock = NULL WHERE JourneyID = ?`, {
        replacements: [openedA],
      });
      expect((await post('Email.Opened', opened(emailId)).expect(200)).body.Result).toEqual({ enrolled: 1 });
    });
  });

  describe('in-process hook bus', () => {
    it.each<[string, string, () => Ids, string]>([
      [
        "user A's UserID with user B's list",
        'Subscriber.Subscribed',
        () => ({ UserID: host.demo.userA.userId, ListID: host.demo.lists.leads, SubscriberID: host.demo.subscribers.frank.subscriberId }),
        'ListID 4 does not belong to UserID 1',
      ],
      [
        "user B's UserID with user A's list",
        'Subscriber.Subscribed',
        () => ({ UserID: host.demo.userB.userId, ListID: host.demo.lists.customers, SubscriberID: host.demo.subscribers.erin.subscriberId }),
        'ListID 2 does not belong to UserID 2',
      ],
      [
        'a SubscriberID that is not in the list',
        'Subscriber.Subscribed',
        () => ({ UserID: host.demo.userB.userId, ListID: host.demo.lists.leads, SubscriberID: 77 }),
        'SubscriberID 77 is not a subscriber of list 4',
      ],
      [
        "a click on user A's email reported for user B",
        'Link.Clicked',
        () => ({ UserID: host.demo.userB.userId, ListID: host.demo.lists.leads, SubscriberID: 1, EmailID: host.demo.emails.newsletter }),
        'EmailID 2 is not an email of UserID 2',
      ],
      [
        "an open of user B's email reported for user A",
        'Email.Opened',
        () => ({ UserID: host.demo.userA.userId, ListID: 1, SubscriberID: 2, EmailID: host.demo.emails.leadsIntro }),
        'EmailID 5 is not an email of UserID 1',
      ],
    ])('refuses %s: the hook fails with ValidationFailed and enrols nobody', async (_label, hookName, ids, message) => {
      const event = ids();
      const extra = hookName === 'Link.Clicked' ? { URL: host.demo.clickedUrl } : {};
      await expectNothingEnrolled(event, async () => {
        const failure = await host.hooks.fire(hookName, { ...payload(event), ...extra }).then(
          () => null,
          (error: AggregateError) => error,
        );
        expect(failure?.errors).toEqual([expect.objectContaining({ code: JourneysErrorCode.ValidationFailed, message })]);
      });
    });

    it('a legitimate event still enrols', async () => {
      const { bob } = host.demo.subscribers;
      const { fired } = await host.hooks.collect(() =>
        host.hooks.fire('Subscriber.Subscribed', payload({ UserID: host.demo.userA.userId, ListID: bob.listId, SubscriberID: bob.subscriberId })),
      );
      expect(fired[0].results).toEqual([{ enrolled: 1 }]);
      expect(await entriesFor([subscribedA], { ListID: bob.listId, SubscriberID: bob.subscriberId })).toHaveLength(1);
    });
  });
});
