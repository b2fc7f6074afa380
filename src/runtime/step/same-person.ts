/**
 * A person, as the exits see one: every subscriber of the owner's lists with
 * the same email address (never another owner's; the host port answers for
 * the owner's lists only). Exit Journey and Exit All Other Journeys end the
 * person's entries, so a step of entries whose journey has one of them locks
 * the live entries of the whole person together with the subscriber's own, in
 * one statement in EntryID order, and the decision sees them by person.
 */
import { Inject, Injectable } from '@nestjs/common';
import { HOST_PORTS, type HostPorts, type SubscriberAddress, type SubscriberRef } from '../../host/host.ports';
import { subscriberKey, type EntryRow } from '../entry.types';
import { runLimited } from '../host-facts';

/** subscriberKey → every subscriber of the person (this one included). A subscriber not in it is a person of one. */
export type Persons = ReadonlyMap<string, readonly SubscriberRef[]>;

/** Lookups by address at once when the host has no batch form. */
const ADDRESS_LOOKUPS_IN_FLIGHT = 16;

@Injectable()
export class SamePerson {
  constructor(@Inject(HOST_PORTS) private readonly host: HostPorts) {}

  /** The persons of these subscribers: one batch lookup per owner (the host's findSameEmailSubscribers, else one lookup per address). */
  async of(wanted: readonly { ownerUserId: number; ref: SubscriberRef }[]): Promise<Persons> {
    const persons = new Map<string, SubscriberRef[]>();
    const byOwner = new Map<number, Map<string, SubscriberRef>>();
    for (const w of wanted) {
      const refs = byOwner.get(w.ownerUserId) ?? new Map<string, SubscriberRef>();
      refs.set(subscriberKey(w.ref), w.ref);
      byOwner.set(w.ownerUserId, refs);
    }
    for (const [owner, refs] of byOwner) {
      const byAddress = new Map<string, SubscriberRef[]>();
      for (const found of await this.sameEmail(owner, [...refs.values()])) {
        const address = found.emailAddress.trim().toLowerCase();
        byAddress.set(address, [...(byAddress.get(address) ?? []), { listId: found.listId, subscriberId: found.subscriberId }]);
      }
      for (const person of byAddress.values()) for (const ref of person) persons.set(subscriberKey(ref), person);
    }
    return persons;
  }

  private async sameEmail(owner: number, refs: SubscriberRef[]): Promise<SubscriberAddress[]> {
    const audience = this.host.audience;
    if (audience.findSameEmailSubscribers) return audience.findSameEmailSubscribers(owner, refs);
    const idsByList = new Map<number, number[]>();
    for (const ref of refs) idsByList.set(ref.listId, [...(idsByList.get(ref.listId) ?? []), ref.subscriberId]);
    const subscribers = await Promise.all([...idsByList].map(([listId, ids]) => audience.getSubscribers(owner, listId, ids)));
    const found: SubscriberAddress[] = [];
    const addresses = [...new Set(subscribers.flat().map((s) => s.emailAddress))];
    await runLimited(
      addresses.map((address) => async () => {
        for (const s of await audience.findSubscribersByEmail(owner, address))
          found.push({ listId: s.listId, subscriberId: s.subscriberId, emailAddress: s.emailAddress });
      }),
      ADDRESS_LOOKUPS_IN_FLIGHT,
    );
    return found;
  }
}

/** The person's subscribers other than `own`: whose live entries are read and locked with the own ones. */
export function otherSubscribers(persons: Persons, own: readonly SubscriberRef[]): SubscriberRef[] {
  const seen = new Set(own.map(subscriberKey));
  const out: SubscriberRef[] = [];
  for (const person of persons.values()) {
    for (const ref of person) {
      const key = subscriberKey(ref);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(ref);
    }
  }
  return out;
}

/** The subscribers of this subscriber's person (itself when the person was not looked up). */
export function personOf(persons: Persons, ref: SubscriberRef): readonly SubscriberRef[] {
  return persons.get(subscriberKey(ref)) ?? [ref];
}

/**
 * The live entries of each subscriber's person, keyed by subscriber: what an
 * exit effect of one of its entries may end. `liveOf`: the live entries of
 * each subscriber (locked).
 */
export function liveByPerson(liveOf: ReadonlyMap<string, readonly EntryRow[]>, persons: Persons): ReadonlyMap<string, readonly EntryRow[]> {
  if (persons.size === 0) return liveOf; // no journey of the batch exits others: nothing to merge (a list import's usual case)
  const out = new Map(liveOf);
  for (const [key, person] of persons) {
    const rows = new Map<number, EntryRow>();
    for (const ref of person) for (const row of liveOf.get(subscriberKey(ref)) ?? []) rows.set(row.EntryID, row);
    out.set(key, [...rows.values()]);
  }
  return out;
}
