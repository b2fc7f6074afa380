import { JourneysErrorCode, JourneysException } from '../common/journeys.exception';
import type { TriggerEvent } from '../engine/trigger-event';
import type { TriggerIntake } from '../runtime/trigger-intake';
import { CountingAudience } from './audience.fixtures';
import { EventOwnership, OwnershipCheckedIntake, SUBSCRIBER_IDS_PER_READ } from './event-ownership';

/** User 1 owns lists 1–3 and emails 1–2; user 2 owns list 4 and email 5. */
const hostData = () => ({
  lists: { 1: 1, 2: 1, 3: 1, 4: 2 } as Record<number, number>,
  subscribers: { 1: [1, 2, 3], 2: [1], 3: [1], 4: [1] } as Record<number, number[]>,
  emails: { 1: 1, 2: 1, 5: 2 } as Record<number, number>,
});

let n = 0;
const anEvent = (ids: Partial<TriggerEvent> = {}): TriggerEvent => ({
  eventId: `evt-${++n}`,
  type: 'subscription',
  userId: 1,
  listId: 1,
  subscriberId: 1,
  occurredAt: new Date('2026-11-30T10:00:00Z'),
  ...ids,
});
const anOpen = (ids: Partial<TriggerEvent> = {}) => anEvent({ type: 'email_opened', emailId: 1, ...ids });

async function refusal(check: Promise<void>): Promise<JourneysException> {
  const error = await check.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof JourneysException)) throw new Error(`expected a JourneysException, got ${String(error)}`);
  return error;
}

describe(EventOwnership.name, () => {
  let audience: CountingAudience;
  let ownership: EventOwnership;

  beforeEach(() => {
    audience = new CountingAudience(hostData());
    ownership = new EventOwnership(audience);
  });

  it("passes an event whose list, subscriber and email are the owner's", async () => {
    await expect(ownership.check(anOpen({ listId: 1, subscriberId: 2, emailId: 2 }))).resolves.toBeUndefined();
    expect(audience.calls).toEqual({ getList: [[1, 1]], getSubscribers: [[1, 1, [2]]], listEmails: [1] });
  });

  describe('refusals', () => {
    it.each<[string, Partial<TriggerEvent>, string, string]>([
      ["another user's list", { userId: 1, listId: 4 }, 'unknown_list', 'ListID 4 does not belong to UserID 1'],
      ["another user's list, the other way round", { userId: 2, listId: 1 }, 'unknown_list', 'ListID 1 does not belong to UserID 2'],
      ['a list nobody has', { listId: 99 }, 'unknown_list', 'ListID 99 does not belong to UserID 1'],
      ['a subscriber who is not in the list', { listId: 2, subscriberId: 77 }, 'unknown_subscriber', 'SubscriberID 77 is not a subscriber of list 2'],
      ["another user's email", { type: 'email_opened', emailId: 5 }, 'unknown_email', 'EmailID 5 is not an email of UserID 1'],
      ['an email nobody has', { type: 'link_clicked', emailId: 9 }, 'unknown_email', 'EmailID 9 is not an email of UserID 1'],
      [
        "a conversion of another user's email",
        { type: 'conversion', userId: 2, listId: 4, emailId: 1 },
        'unknown_email',
        'EmailID 1 is not an email of UserID 2',
      ],
    ])('refuses %s with ValidationFailed naming the field and the owner', async (_label, ids, code, message) => {
      const error = await refusal(ownership.check(anEvent(ids)));
      expect(error.code).toBe(JourneysErrorCode.ValidationFailed);
      expect(error.message).toBe(message);
      expect(error.violations).toEqual([{ code, actionId: null, message }]);
    });

    it("names every wrong id at once, and does not look for a subscriber in another user's list", async () => {
      const error = await refusal(ownership.check(anOpen({ listId: 4, subscriberId: 1, emailId: 5 })));
      expect(error.violations.map((v) => v.message)).toEqual(['ListID 4 does not belong to UserID 1', 'EmailID 5 is not an email of UserID 1']);
      expect(audience.calls.getSubscribers).toEqual([]);
    });

    it('names a missing subscriber and a foreign email together', async () => {
      const error = await refusal(ownership.check(anOpen({ listId: 1, subscriberId: 77, emailId: 5 })));
      expect(error.violations.map((v) => v.code)).toEqual(['unknown_subscriber', 'unknown_email']);
    });
  });

  describe('cache', () => {
    it("reads a list and the owner's emails once, then answers from memory; subscribers are read every time", async () => {
      await ownership.check(anOpen({ subscriberId: 1 }));
      await ownership.check(anOpen({ subscriberId: 2, emailId: 2 }));
      await ownership.check(anOpen({ subscriberId: 3, emailId: 1 }));
      expect(audience.calls.getList).toEqual([[1, 1]]);
      expect(audience.calls.listEmails).toEqual([1]);
      expect(audience.calls.getSubscribers.map(([, , ids]) => ids)).toEqual([[1], [2], [3]]);
    });

    it("refuses a list or an email known to be another user's without reading again (owners never change)", async () => {
      await ownership.check(anOpen({ userId: 2, listId: 4, emailId: 5 }));
      const reads = { lists: audience.calls.getList.length, emails: audience.calls.listEmails.length };
      const error = await refusal(ownership.check(anOpen({ userId: 1, listId: 4, emailId: 5 })));
      expect(error.violations.map((v) => v.code)).toEqual(['unknown_list', 'unknown_email']);
      expect({ lists: audience.calls.getList.length, emails: audience.calls.listEmails.length }).toEqual(reads);
    });

    it('keeps at most maxCachedIds ids, dropping the least recently used', async () => {
      ownership = new EventOwnership(audience, { maxCachedIds: 2 });
      for (const listId of [1, 2, 1, 3]) await ownership.check(anEvent({ listId }));
      // List 2 was the least recently used when list 3 came in.
      expect(audience.calls.getList.map(([, listId]) => listId)).toEqual([1, 2, 3]);
      await ownership.check(anEvent({ listId: 1 }));
      await ownership.check(anEvent({ listId: 3 }));
      expect(audience.calls.getList.map(([, listId]) => listId)).toEqual([1, 2, 3]);
      await ownership.check(anEvent({ listId: 2 }));
      expect(audience.calls.getList.map(([, listId]) => listId)).toEqual([1, 2, 3, 2]);
    });
  });

  describe('a miss is read again before refusing', () => {
    it('a list created after a refusal passes on the next event', async () => {
      await refusal(ownership.check(anEvent({ listId: 50 })));
      audience.data.lists[50] = 1;
      audience.data.subscribers[50] = [1];
      await expect(ownership.check(anEvent({ listId: 50 }))).resolves.toBeUndefined();
      expect(audience.calls.getList).toEqual([
        [1, 50],
        [1, 50],
      ]);
    });

    it("an email created after the owner's emails were read passes on the next event", async () => {
      await ownership.check(anOpen({ emailId: 1 }));
      audience.data.emails[60] = 1;
      await expect(ownership.check(anOpen({ emailId: 60 }))).resolves.toBeUndefined();
      expect(audience.calls.listEmails).toEqual([1, 1]);
    });

    it('an unknown email is read again every time, never remembered as missing', async () => {
      await refusal(ownership.check(anOpen({ emailId: 60 })));
      await refusal(ownership.check(anOpen({ emailId: 60 })));
      expect(audience.calls.listEmails).toEqual([1, 1]);
    });

    it('a failed read fails the check as it is (not as a refusal) and is not remembered', async () => {
      audience.failNextRead = new Error('host database away');
      await expect(ownership.check(anEvent({ listId: 2 }))).rejects.toThrow('host database away');
      await expect(ownership.check(anEvent({ listId: 2 }))).resolves.toBeUndefined();
      expect(audience.calls.getList).toEqual([
        [1, 2],
        [1, 2],
      ]);
    });
  });

  describe('batching', () => {
    it('checks the subscribers of one list asked for in the same tick with one getSubscribers call, each event getting its own answer', async () => {
      const outcomes = await Promise.allSettled([1, 2, 77, 3, 2].map((subscriberId) => ownership.check(anEvent({ listId: 1, subscriberId }))));
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect(audience.calls.getSubscribers).toEqual([[1, 1, [1, 2, 77, 3]]]);
      expect(audience.calls.getList).toEqual([[1, 1]]);
    });

    it('one call per list, and a new call for the next tick', async () => {
      await Promise.all([
        ownership.check(anEvent({ listId: 1 })),
        ownership.check(anEvent({ listId: 2 })),
        ownership.check(anEvent({ listId: 1, subscriberId: 2 })),
      ]);
      await ownership.check(anEvent({ listId: 1, subscriberId: 3 }));
      expect(audience.calls.getSubscribers).toEqual([
        [1, 1, [1, 2]],
        [1, 2, [1]],
        [1, 1, [3]],
      ]);
    });

    it('subscribers asked for while two reads run wait, each in its own tick, and share the next read', async () => {
      const read = audience.getSubscribers.bind(audience);
      const asked: number[][] = [];
      const held: (() => void)[] = [];
      audience.getSubscribers = async (userId, listId, subscriberIds) => {
        asked.push(subscriberIds);
        await new Promise<void>((resolve) => held.push(resolve));
        return read(userId, listId, subscriberIds);
      };
      const nextTick = () => new Promise((resolve) => setImmediate(resolve));
      const until = async (reads: number) => {
        while (asked.length < reads) await nextTick();
      };
      const checks = [ownership.check(anEvent({ subscriberId: 1 }))];
      await until(1);
      checks.push(ownership.check(anEvent({ subscriberId: 2 })));
      await until(2);
      for (const subscriberId of [3, 1, 2]) {
        checks.push(ownership.check(anEvent({ subscriberId }))); // one a tick, as posts of a busy ingest arrive
        await nextTick();
      }
      expect(asked).toEqual([[1], [2]]);
      held.splice(0).forEach((release) => release());
      await until(3);
      held.splice(0).forEach((release) => release());
      await Promise.all(checks);
      expect(asked).toEqual([[1], [2], [3, 1, 2]]);
    });

    it("reads the owner's emails once for the misses of one tick", async () => {
      await Promise.all([ownership.check(anOpen({ emailId: 1 })), ownership.check(anOpen({ emailId: 2 })), ownership.check(anOpen({ emailId: 1, listId: 2 }))]);
      expect(audience.calls.listEmails).toEqual([1]);
    });

    it(`splits a large batch into reads of at most ${SUBSCRIBER_IDS_PER_READ} ids`, async () => {
      audience.data.subscribers[1] = Array.from({ length: 2500 }, (_, i) => i + 1);
      await Promise.all(audience.data.subscribers[1].map((subscriberId) => ownership.check(anEvent({ subscriberId }))));
      expect(audience.calls.getSubscribers.map(([, , ids]) => ids.length)).toEqual([1000, 1000, 500]);
    });
  });
});

describe('EventOwnership with a host that offers existingSubscriberIds', () => {
  it('checks subscribers with the lighter existence read instead of reading whole subscribers', async () => {
    const audience = new CountingAudience(hostData());
    const exists: [number, number, number[]][] = [];
    const withExists = Object.assign(audience, {
      existingSubscriberIds: async (userId: number, listId: number, ids: number[]) => {
        exists.push([userId, listId, ids]);
        return (await audience.getSubscribers(userId, listId, ids)).map((s) => s.subscriberId);
      },
    });
    const ownership = new EventOwnership(withExists);
    const readsBefore = audience.calls.getSubscribers.length;
    await ownership.check(anEvent({ subscriberId: 2 }));
    await expect(ownership.check(anEvent({ eventId: 'e2', subscriberId: 999 }))).rejects.toThrow('SubscriberID 999 is not a subscriber of list 1');
    expect(exists.map(([, , ids]) => ids)).toEqual([[2], [999]]);
    // Only existingSubscriberIds itself read subscribers (through the fake): the check never asked for whole rows.
    expect(audience.calls.getSubscribers.length - readsBefore).toBe(exists.length);
  });
});

describe(OwnershipCheckedIntake.name, () => {
  it('hands an event to the intake only once its ids are checked', async () => {
    const accepted: string[] = [];
    const inner: TriggerIntake = { accept: async (event) => (accepted.push(event.eventId), { enrolled: 1 }) };
    const intake = new OwnershipCheckedIntake(inner, new EventOwnership(new CountingAudience(hostData())));
    await expect(intake.accept(anEvent({ eventId: 'mine' }))).resolves.toEqual({ enrolled: 1 });
    await expect(intake.accept(anEvent({ eventId: 'theirs', listId: 4 }))).rejects.toThrow('ListID 4 does not belong to UserID 1');
    expect(accepted).toEqual(['mine']);
  });
});
