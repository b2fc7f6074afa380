/**
 * subscriber.journey.trigger says why each subscriber it did not enrol stayed
 * out (NotEnrolled: ListID, SubscriberID, Reason, Message), through the API
 * against the reference host on real MariaDB and Redis; refusals of the whole
 * request (a disabled journey, a journey, list or subscriber that is not the
 * user's) stay errors that name what is wrong.
 */
import request from 'supertest';
import { Transaction } from 'sequelize';
import { pluginTables, type PluginTables } from '../src/database/tables';
import { JourneysService } from '../src/journeys/journeys.service';
import { MAX_CHAIN_DEPTH } from '../src/runtime/runtime.limits';
import { startReferenceHost, type RefHost } from './support/reference-host';

const WAIT_A_DAY = { id: 'wait-1', type: 'wait', settings: { amount: 1, unit: 'days' } };

describe('subscriber.journey.trigger: a reason for every subscriber not enrolled', () => {
  let host: RefHost;
  let t: PluginTables;
  let A: number;
  let B: number;

  const api = (body: Record<string, unknown>, userId = A) => request(host.server).post('/journeys/api').set('Cookie', host.cookieFor(userId)).send(body);
  const trigger = (journeyId: number, who: Record<string, unknown>, userId = A) =>
    api({ Command: 'subscriber.journey.trigger', JourneyID: journeyId, ...who }, userId);
  const ref = (s: { listId: number; subscriberId: number }) => ({ ListID: s.listId, SubscriberID: s.subscriberId });

  /** A journey of user A with one Wait, enabled unless told otherwise. */
  async function journey(name: string, options: { trigger?: object; reEntry?: 'allow' | 'once'; enabled?: boolean } = {}): Promise<number> {
    const created = await api({
      Command: 'journey.create',
      Name: name,
      Trigger: options.trigger ?? { type: 'manual' },
      ReEntry: options.reEntry ?? 'allow',
    }).expect(200);
    const journeyId = created.body.Journey.journeyId as number;
    await api({ Command: 'journey.actions.update', JourneyID: journeyId, Actions: [WAIT_A_DAY] }).expect(200);
    if (options.enabled !== false) await api({ Command: 'journey.enable', JourneyID: journeyId }).expect(200);
    return journeyId;
  }

  const entriesOf = (journeyId: number) =>
    host.query<{ ListID: number; SubscriberID: number; State: string; ExitReason: string | null }>(
      `SELECT ListID, SubscriberID, State, ExitReason FROM \`${t.entries}\` WHERE JourneyID = ? ORDER BY EntryID`,
      [journeyId],
    );

  /** Another enrolment's live entry, inserted in its own open transaction (it holds the live-entry key until it commits). */
  async function liveEntryIn(journeyId: number, s: { listId: number; subscriberId: number }, transaction: Transaction): Promise<void> {
    const now = new Date();
    await host.sequelize.query(
      `INSERT INTO \`${t.entries}\` (JourneyID, RelOwnerUserID, ListID, SubscriberID, State, JourneyVersion, ChainID, CreatedAt, UpdatedAt)
       VALUES (?, ?, ?, ?, 'active', 2, 'the-other-one', ?, ?)`,
      { replacements: [journeyId, A, s.listId, s.subscriberId, now, now], transaction },
    );
  }

  /** Until the enrolment's insert runs: its read is done (and saw nothing), so the insert waits on the live-entry key. */
  async function insertWaitsOnALock(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while ((await host.query(`SELECT 1 FROM information_schema.PROCESSLIST WHERE INFO LIKE ?`, [`INSERT IGNORE INTO \`${t.entries}\`%`])).length === 0) {
      if (Date.now() > deadline) throw new Error('the enrolment never reached its insert');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    host = await startReferenceHost();
    t = pluginTables(host.prefix);
    A = host.demo.userA.userId;
    B = host.demo.userB.userId;
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('already_active: a subscriber still in the journey is not enrolled twice, and says so', async () => {
    const journeyId = await journey('Twice');
    const { alice } = host.demo.subscribers;
    expect((await trigger(journeyId, ref(alice)).expect(200)).body).toMatchObject({ Enrolled: 1, NotEnrolled: [] });
    const again = await trigger(journeyId, ref(alice)).expect(200);
    expect(again.body).toEqual({
      Success: true,
      JourneyID: journeyId,
      Enrolled: 0,
      Refused: 0,
      EntryIDs: [],
      NotEnrolled: [
        { ...ref(alice), Reason: 'already_active', Message: `Subscriber ${alice.subscriberId} of list ${alice.listId} is already in this journey` },
      ],
    });
    expect(await entriesOf(journeyId)).toHaveLength(1);
  });

  it('by EmailAddress: enrols the subscribers who may enter and names the one who may not', async () => {
    const journeyId = await journey('By address');
    const { alice, aliceCustomer } = host.demo.subscribers;
    await trigger(journeyId, ref(alice)).expect(200);
    const res = await trigger(journeyId, { EmailAddress: alice.emailAddress }).expect(200);
    expect(res.body).toMatchObject({ Enrolled: 1, Refused: 0, EntryIDs: [expect.any(Number)], NotEnrolled: [{ ...ref(alice), Reason: 'already_active' }] });
    expect((await entriesOf(journeyId)).map((e) => [e.ListID, e.SubscriberID])).toEqual([
      [alice.listId, alice.subscriberId],
      [aliceCustomer.listId, aliceCustomer.subscriberId],
    ]);
  });

  it('entered_once: a "once" journey does not take back a subscriber who left it', async () => {
    const journeyId = await journey('Only once', { reEntry: 'once' });
    const { bob } = host.demo.subscribers;
    await trigger(journeyId, ref(bob)).expect(200);
    await api({ Command: 'subscriber.journey.exit', JourneyID: journeyId, ...ref(bob) }).expect(200);
    const res = await trigger(journeyId, ref(bob)).expect(200);
    expect(res.body).toMatchObject({
      Enrolled: 0,
      Refused: 0,
      EntryIDs: [],
      NotEnrolled: [
        {
          ...ref(bob),
          Reason: 'entered_once',
          Message: `Subscriber ${bob.subscriberId} of list ${bob.listId} has been in this journey before, and it lets each subscriber in once`,
        },
      ],
    });
    expect((await entriesOf(journeyId)).map((e) => e.State)).toEqual(['exited']);
  });

  it('not_subscribed: an unsubscribed subscriber is not enrolled by hand, except into a journey for people who unsubscribe', async () => {
    const { carol } = host.demo.subscribers; // Unsubscribed from Newsletter
    const journeyId = await journey('Subscribers only');
    const res = await trigger(journeyId, ref(carol)).expect(200);
    expect(res.body).toMatchObject({
      Enrolled: 0,
      NotEnrolled: [
        {
          ...ref(carol),
          Reason: 'not_subscribed',
          Message: `Subscriber ${carol.subscriberId} of list ${carol.listId} is not subscribed to the list (Unsubscribed)`,
        },
      ],
    });
    expect(await entriesOf(journeyId)).toEqual([]);

    const goodbye = await journey('Goodbye', { trigger: { type: 'unsubscription', listIds: [carol.listId] } });
    expect((await trigger(goodbye, ref(carol)).expect(200)).body).toMatchObject({ Enrolled: 1, NotEnrolled: [] });
  });

  it('loop_limit: a manual enrolment that continues a chain past the loop bound is refused and recorded', async () => {
    const journeyId = await journey('Deep chain');
    const { dave } = host.demo.subscribers;
    const result = await host.app
      .get(JourneysService)
      .enrolSubscribers(A, journeyId, [{ listId: dave.listId, subscriberId: dave.subscriberId }], { chainId: 'chain-x', depth: MAX_CHAIN_DEPTH + 1 });
    expect(result).toMatchObject({
      enrolled: 0,
      refused: 1,
      entryIds: [],
      notEnrolled: [
        {
          ref: { listId: dave.listId, subscriberId: dave.subscriberId },
          reason: 'loop_limit',
          message: `Subscriber ${dave.subscriberId} of list ${dave.listId} was not enrolled. Loop stopped: causation chain chain-x reached depth ${MAX_CHAIN_DEPTH + 1} (limit ${MAX_CHAIN_DEPTH})`,
        },
      ],
    });
    expect(await entriesOf(journeyId)).toEqual([expect.objectContaining({ State: 'exited', ExitReason: expect.stringMatching(/^Loop stopped/) })]);
  });

  it('already_active when another enrolment made the live entry while this one waited on it (real lock wait)', async () => {
    const journeyId = await journey('Race');
    const { dave } = host.demo.subscribers;
    const other = await host.sequelize.transaction({ isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED });
    let committed = false;
    try {
      await liveEntryIn(journeyId, dave, other);
      const answer = trigger(journeyId, ref(dave)).then((res) => res); // then() sends it
      await insertWaitsOnALock();
      await other.commit();
      committed = true;
      const res = await answer;
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ Enrolled: 0, Refused: 0, EntryIDs: [], NotEnrolled: [{ ...ref(dave), Reason: 'already_active' }] });
    } finally {
      if (!committed) await other.rollback();
    }
    expect(await entriesOf(journeyId)).toHaveLength(1);
  });

  it('already_active for the one whose live entry another enrolment made, while the others of the list enter', async () => {
    const journeyId = await journey('Race in a batch');
    const { bob, dave } = host.demo.subscribers; // both on Newsletter: one insert for the two
    const other = await host.sequelize.transaction({ isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED });
    let committed = false;
    try {
      await liveEntryIn(journeyId, dave, other);
      const answer = host.app.get(JourneysService).enrolSubscribers(
        A,
        journeyId,
        [bob, dave].map((s) => ({ listId: s.listId, subscriberId: s.subscriberId })),
      );
      await insertWaitsOnALock();
      await other.commit();
      committed = true;
      const result = await answer;
      expect(result).toMatchObject({
        enrolled: 1,
        refused: 0,
        entryIds: [expect.any(Number)],
        notEnrolled: [{ ref: { subscriberId: dave.subscriberId }, reason: 'already_active' }],
      });
      const [bobs] = await host.query<{ EntryID: number }>(`SELECT EntryID FROM \`${t.entries}\` WHERE JourneyID = ? AND SubscriberID = ?`, [
        journeyId,
        bob.subscriberId,
      ]);
      expect(result.entryIds).toEqual([bobs.EntryID]);
    } finally {
      if (!committed) await other.rollback();
    }
  });

  describe('refusals of the whole request stay errors that name what is wrong', () => {
    it('journey_disabled: 409 with the reason, nobody enrolled', async () => {
      const journeyId = await journey('Paused', { enabled: false });
      const res = await trigger(journeyId, ref(host.demo.subscribers.alice)).expect(409);
      expect(res.body).toEqual({
        Success: false,
        Errors: [{ Code: 4, ActionID: null, Reason: 'journey_disabled', Message: `Journey ${journeyId} is disabled; enable it before adding subscribers` }],
      });
      expect(await entriesOf(journeyId)).toEqual([]);
    });

    it('not found or not the user’s: 404 for another user’s journey, list or address; 400 naming a SubscriberID the list lacks', async () => {
      const journeyId = await journey('Mine');
      const { alice, frank } = host.demo.subscribers; // frank is on user B's list
      expect((await trigger(journeyId, ref(alice), B).expect(404)).body.Errors).toEqual([{ Code: 1, Message: `Journey ${journeyId} not found` }]);
      expect((await trigger(journeyId, ref(frank)).expect(404)).body.Errors).toEqual([{ Code: 1, Message: `List ${frank.listId} not found` }]);
      expect((await trigger(journeyId, { EmailAddress: frank.emailAddress }).expect(404)).body.Errors).toEqual([
        { Code: 1, Message: `Subscriber ${frank.emailAddress} not found` },
      ]);
      expect((await trigger(journeyId, { ListID: alice.listId, SubscriberID: 999 }).expect(400)).body.Errors).toEqual([
        { Code: 2, ActionID: null, Reason: 'subscriber_not_found', Message: `Subscriber 999 not found in list ${alice.listId}` },
      ]);
      expect(await entriesOf(journeyId)).toEqual([]);
    });
  });
});
