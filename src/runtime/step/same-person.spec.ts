import type { AudiencePort, HostPorts, HostSubscriber, SubscriberAddress, SubscriberRef } from '../../host/host.ports';
import type { EntryRow } from '../entry.types';
import { liveByPerson, otherSubscribers, personOf, SamePerson } from './same-person';

/** Subscribers of owner 1 on lists 1–3 and of owner 2 on list 4, by address. */
const ROWS: (SubscriberAddress & { owner: number })[] = [
  { owner: 1, listId: 1, subscriberId: 1, emailAddress: 'alice@example.com' },
  { owner: 1, listId: 2, subscriberId: 7, emailAddress: 'Alice@Example.com' },
  { owner: 1, listId: 1, subscriberId: 2, emailAddress: 'bob@example.com' },
  { owner: 1, listId: 3, subscriberId: 5, emailAddress: 'carol@example.com' },
  { owner: 2, listId: 4, subscriberId: 1, emailAddress: 'alice@example.com' },
];

const ref = (listId: number, subscriberId: number): SubscriberRef => ({ listId, subscriberId });

function subscriber(row: SubscriberAddress): HostSubscriber {
  return {
    ...row,
    bounceType: 'Not Bounced',
    subscriptionStatus: 'Subscribed',
    subscriptionDate: null,
    subscriptionIp: '',
    unsubscriptionDate: null,
    optInDate: null,
    customFields: {},
  };
}

/** An audience answering from ROWS the way the MySQL one does (addresses compared without case), counting its calls. */
function audience(withBatch: boolean) {
  const calls: string[] = [];
  const mine = (owner: number) => ROWS.filter((r) => r.owner === owner);
  const port: Partial<AudiencePort> = {
    async getSubscribers(owner, listId, ids) {
      calls.push(`getSubscribers ${listId}`);
      return mine(owner)
        .filter((r) => r.listId === listId && ids.includes(r.subscriberId))
        .map(subscriber);
    },
    async findSubscribersByEmail(owner, address) {
      calls.push(`findSubscribersByEmail ${address}`);
      return mine(owner)
        .filter((r) => r.emailAddress.toLowerCase() === address.toLowerCase())
        .map(subscriber);
    },
  };
  if (withBatch) {
    port.findSameEmailSubscribers = async (owner, refs) => {
      calls.push(`findSameEmailSubscribers ${refs.length}`);
      const addresses = mine(owner)
        .filter((r) => refs.some((x) => x.listId === r.listId && x.subscriberId === r.subscriberId))
        .map((r) => r.emailAddress.toLowerCase());
      return mine(owner)
        .filter((r) => addresses.includes(r.emailAddress.toLowerCase()))
        .map(({ listId, subscriberId, emailAddress }) => ({ listId, subscriberId, emailAddress }));
    };
  }
  return { calls, samePerson: new SamePerson({ audience: port } as HostPorts) };
}

function entry(entryId: number, listId: number, subscriberId: number): EntryRow {
  return { EntryID: entryId, ListID: listId, SubscriberID: subscriberId } as EntryRow;
}

describe(SamePerson.name, () => {
  const wanted = [
    { ownerUserId: 1, ref: ref(1, 1) },
    { ownerUserId: 1, ref: ref(1, 2) },
    { ownerUserId: 2, ref: ref(4, 1) },
  ];

  it.each([
    ['the batch lookup of the host', true],
    ['one lookup per address without it', false],
  ])("groups each subscriber with the owner's subscribers of the same address, through %s", async (_label, withBatch) => {
    const { samePerson } = audience(withBatch);
    const persons = await samePerson.of(wanted);
    const sorted = (refs: readonly SubscriberRef[]) => [...refs].sort((a, b) => a.listId - b.listId);
    expect(sorted(personOf(persons, ref(1, 1)))).toEqual([ref(1, 1), ref(2, 7)]);
    expect(sorted(personOf(persons, ref(2, 7)))).toEqual([ref(1, 1), ref(2, 7)]);
    expect(personOf(persons, ref(1, 2))).toEqual([ref(1, 2)]);
    expect(personOf(persons, ref(4, 1))).toEqual([ref(4, 1)]); // owner 2's alice: never owner 1's lists
    expect(personOf(persons, ref(3, 5))).toEqual([ref(3, 5)]); // not looked up: a person of one
  });

  it('asks the host once per owner with the batch lookup', async () => {
    const { samePerson, calls } = audience(true);
    await samePerson.of(wanted);
    expect(calls).toEqual(['findSameEmailSubscribers 2', 'findSameEmailSubscribers 1']);
  });

  it('asks nothing for no subscribers', async () => {
    const { samePerson, calls } = audience(true);
    expect((await samePerson.of([])).size).toBe(0);
    expect(calls).toEqual([]);
  });
});

describe(otherSubscribers.name, () => {
  it("lists each person's subscribers beyond the given ones, once", () => {
    const person = [ref(1, 1), ref(2, 7), ref(3, 9)];
    const persons = new Map([
      ['1:1', person],
      ['2:7', person],
      ['3:9', person],
    ]);
    expect(otherSubscribers(persons, [ref(1, 1), ref(3, 9)])).toEqual([ref(2, 7)]);
  });
});

describe(liveByPerson.name, () => {
  it("gives each subscriber of a person the live entries of all the person's subscribers, and the others their own", () => {
    const liveOf = new Map([
      ['1:1', [entry(10, 1, 1)]],
      ['2:7', [entry(3, 2, 7), entry(12, 2, 7)]],
      ['1:2', [entry(11, 1, 2)]],
    ]);
    const person = [ref(1, 1), ref(2, 7)];
    const byPerson = liveByPerson(
      liveOf,
      new Map([
        ['1:1', person],
        ['2:7', person],
      ]),
    );
    expect(byPerson.get('1:1')!.map((e) => e.EntryID)).toEqual([10, 3, 12]);
    expect(byPerson.get('2:7')!.map((e) => e.EntryID)).toEqual([10, 3, 12]);
    expect(byPerson.get('1:2')!.map((e) => e.EntryID)).toEqual([11]);
  });
});
