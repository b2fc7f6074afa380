/**
 * Batch reads of what advance() needs from the host: subscribers (one query
 * per list per batch), the owner's time zone and custom field names (cached
 * briefly per owner), and activity counts when a journey's conditions use them.
 */
import { Inject, Injectable } from '@nestjs/common';
import { activityKey, type StepFacts } from '../engine/host-facts.types';
import type { IdSelection } from '../engine/journey.types';
import { HOST_PORTS, type ActivityCounts, type HostPorts, type HostSubscriber, type SubscriberRef } from '../host/host.ports';
import { subscriberKey } from './entry.types';

export interface OwnerFacts {
  timeZone: string;
  customFieldNames: Record<number, string>;
  /** CustomFieldID → the list it belongs to (0 = every list of the owner). */
  customFieldLists: Map<number, number>;
  loadedAt: number;
}

const OWNER_TTL_MS = 30_000;
const ACTIVITY_CONCURRENCY = 16;

@Injectable()
export class HostFacts {
  private readonly owners = new Map<number, OwnerFacts>();

  constructor(@Inject(HOST_PORTS) private readonly host: HostPorts) {}

  /** Subscribers keyed by `listId:subscriberId`; missing ones (deleted, another owner's) are absent. */
  async subscribers(wanted: readonly { ownerUserId: number; ref: SubscriberRef }[]): Promise<Map<string, HostSubscriber>> {
    const byList = new Map<string, { ownerUserId: number; listId: number; ids: Set<number> }>();
    for (const w of wanted) {
      const key = `${w.ownerUserId}:${w.ref.listId}`;
      const group = byList.get(key) ?? { ownerUserId: w.ownerUserId, listId: w.ref.listId, ids: new Set<number>() };
      group.ids.add(w.ref.subscriberId);
      byList.set(key, group);
    }
    const out = new Map<string, HostSubscriber>();
    await Promise.all(
      [...byList.values()].map(async (group) => {
        const rows = await this.host.audience.getSubscribers(group.ownerUserId, group.listId, [...group.ids]);
        for (const s of rows) out.set(subscriberKey(s), s);
      }),
    );
    return out;
  }

  /**
   * The owner's time zone and custom fields, cached briefly. `fresh`: read
   * again now (a custom field created moments ago is missing from the cache;
   * a miss is re-read before anything fails for it).
   */
  async owner(ownerUserId: number, fresh = false): Promise<OwnerFacts> {
    const cached = this.owners.get(ownerUserId);
    if (!fresh && cached && Date.now() - cached.loadedAt < OWNER_TTL_MS) return cached;
    const [user, fields] = await Promise.all([this.host.audience.getUser(ownerUserId), this.host.audience.listCustomFields(ownerUserId)]);
    const facts: OwnerFacts = {
      timeZone: user?.timeZone || 'UTC',
      customFieldNames: Object.fromEntries(fields.map((f) => [f.customFieldId, f.name])),
      customFieldLists: new Map(fields.map((f) => [f.customFieldId, f.listId])),
      loadedAt: Date.now(),
    };
    this.owners.set(ownerUserId, facts);
    return facts;
  }

  /** Activity counts per subscriber for the given selections (only journeys whose conditions use activity need this). */
  async activity(wanted: readonly { ownerUserId: number; ref: SubscriberRef; selections: IdSelection[] }[]): Promise<Map<string, StepFacts['activity']>> {
    const out = new Map<string, StepFacts['activity']>();
    const tasks: (() => Promise<void>)[] = [];
    for (const w of wanted) {
      const record: Record<string, ActivityCounts> = {};
      out.set(subscriberKey(w.ref), record);
      for (const selection of w.selections) {
        tasks.push(async () => {
          record[activityKey(selection)] = await this.host.audience.getActivity(w.ownerUserId, w.ref, selection);
        });
      }
    }
    await runLimited(tasks, ACTIVITY_CONCURRENCY);
    return out;
  }
}

/** Runs tasks with at most `limit` in flight. */
export async function runLimited(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, tasks.length) }, async () => {
    while (next < tasks.length) await tasks[next++]();
  });
  await Promise.all(workers);
}
