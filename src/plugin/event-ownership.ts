/**
 * A hook event names its owner (UserID) and the owner's objects (ListID,
 * SubscriberID, EmailID). The host may be wrong, or a signed post forged by
 * someone holding the secret for another account: before anything is
 * enrolled, the ids are checked through the audience port, which answers only
 * for the owner's objects. An event whose list is not UserID's, whose
 * subscriber is not in that list, or whose email is not UserID's is refused
 * with ValidationFailed naming each wrong field.
 *
 * Cheap at thousands of events a second:
 * - a list and an email never change owner, so a positive answer is kept
 *   (id → owner, bounded, least recently used first out), and an id cached
 *   with another owner is refused without a read;
 * - a miss is never kept: it is read again, so a list or an email created a
 *   moment ago passes at once;
 * - reads asked for in the same tick are one call: a list in one `getList`,
 *   a user's emails in one `listEmails`; subscribers asked for in the same
 *   tick, or while two such reads run (posts of a busy signed ingest arrive
 *   one per tick), in one read per list. Each call starts after its callers
 *   asked, so its answer is never older than their event.
 */
import { JourneysException, type Violation } from '../common/journeys.exception';
import type { TriggerEvent } from '../engine/trigger-event';
import type { AudiencePort } from '../host/host.ports';
import { EventCoalescer } from '../runtime/intake/event-coalescer';
import type { TriggerIntake } from '../runtime/trigger-intake';

/** Ids kept per kind (lists, emails) by default: a few MB at most. */
export const DEFAULT_MAX_CACHED_IDS = 100_000;
/** Subscriber ids per `getSubscribers` call: one list's batch is split beyond this. */
export const SUBSCRIBER_IDS_PER_READ = 1000;

export interface EventOwnershipOptions {
  /** Bound on the list ids and on the email ids remembered (each). */
  maxCachedIds?: number;
}

/** Subscriber checks per coalesced batch at most (of any lists). */
const SUBSCRIBER_ASKS_PER_BATCH = 5000;

interface SubscriberAsk {
  userId: number;
  listId: number;
  subscriberId: number;
}

/** The three reads the check makes (all scoped to the owner, like every audience read). */
export type OwnershipReads = Pick<AudiencePort, 'getList' | 'getSubscribers' | 'listEmails' | 'existingSubscriberIds'>;

export class EventOwnership {
  private readonly listOwners: OwnerCache;
  private readonly emailOwners: OwnerCache;
  /** Whether the list is the user's. */
  private readonly listReads: SameTickReads<{ userId: number; listId: number }, boolean>;
  /** The user's email ids. */
  private readonly emailReads: SameTickReads<number, Set<number>>;
  /** Whether the subscriber is in the list (the list being the user's). */
  private readonly subscriberReads: EventCoalescer<SubscriberAsk, boolean>;

  constructor(audience: OwnershipReads, options: EventOwnershipOptions = {}) {
    const limit = options.maxCachedIds ?? DEFAULT_MAX_CACHED_IDS;
    this.listOwners = new OwnerCache(limit);
    this.emailOwners = new OwnerCache(limit);
    // The loaders fill the caches, once per read rather than once per event waiting on it.
    this.listReads = new SameTickReads(async ([{ userId, listId }]) => {
      const owned = (await audience.getList(userId, listId)) !== null;
      if (owned) this.listOwners.set(listId, userId);
      return owned;
    });
    this.emailReads = new SameTickReads(async ([userId]) => {
      const ids = new Set((await audience.listEmails(userId)).map((email) => email.emailId));
      for (const emailId of ids) this.emailOwners.set(emailId, userId);
      return ids;
    });
    this.subscriberReads = new EventCoalescer<SubscriberAsk, boolean>({
      maxBatch: SUBSCRIBER_ASKS_PER_BATCH,
      maxInFlight: 2,
      maxWaiting: Number.MAX_SAFE_INTEGER, // bounded by the intake's own backlog behind this check
      run: async (asks) => {
        const byList = new Map<string, SubscriberAsk[]>();
        for (const ask of asks) {
          const key = `${ask.userId}:${ask.listId}`;
          const group = byList.get(key);
          if (group) group.push(ask);
          else byList.set(key, [ask]);
        }
        const found = new Map<string, Set<number>>();
        await Promise.all(
          [...byList].map(async ([key, group]) => {
            const { userId, listId } = group[0];
            const ids = [...new Set(group.map((a) => a.subscriberId))];
            const parts = [];
            for (let i = 0; i < ids.length; i += SUBSCRIBER_IDS_PER_READ) parts.push(ids.slice(i, i + SUBSCRIBER_IDS_PER_READ));
            // The lighter existence read when the host offers it; the full rows otherwise.
            const read = (part: number[]) =>
              audience.existingSubscriberIds
                ? audience.existingSubscriberIds(userId, listId, part)
                : audience.getSubscribers(userId, listId, part).then((rows) => rows.map((s) => s.subscriberId));
            found.set(key, new Set((await Promise.all(parts.map(read))).flat()));
          }),
        );
        return asks.map((a) => found.get(`${a.userId}:${a.listId}`)!.has(a.subscriberId));
      },
    });
  }

  /** Resolves when every id of the event belongs to its UserID; throws ValidationFailed naming each one that does not. */
  async check(event: TriggerEvent): Promise<void> {
    const { userId, listId, subscriberId, emailId } = event;
    const [listOwned, emailOwned] = await Promise.all([this.listBelongs(userId, listId), emailId === undefined || this.emailBelongs(userId, emailId)]);
    const violations: Violation[] = [];
    if (!listOwned) violations.push(violation('unknown_list', `ListID ${listId} does not belong to UserID ${userId}`));
    // Only a list of the owner can tell whether the subscriber is in it.
    else if (!(await this.subscriberReads.submit({ userId, listId, subscriberId }))) {
      violations.push(violation('unknown_subscriber', `SubscriberID ${subscriberId} is not a subscriber of list ${listId}`));
    }
    if (!emailOwned) violations.push(violation('unknown_email', `EmailID ${emailId} is not an email of UserID ${userId}`));
    if (violations.length > 0) throw JourneysException.invalid(violations.map((v) => v.message).join('; '), violations);
  }

  private async listBelongs(userId: number, listId: number): Promise<boolean> {
    const known = this.listOwners.get(listId);
    if (known !== undefined) return known === userId;
    return this.listReads.read(`${userId}:${listId}`, { userId, listId });
  }

  private async emailBelongs(userId: number, emailId: number): Promise<boolean> {
    const known = this.emailOwners.get(emailId);
    if (known !== undefined) return known === userId;
    // A miss re-reads the owner's emails: the email may have been created since they were last read.
    return (await this.emailReads.read(String(userId), userId)).has(emailId);
  }
}

/** The runtime's intake behind the ownership check: an event that fails it enrols nobody. */
export class OwnershipCheckedIntake implements TriggerIntake {
  constructor(
    private readonly inner: TriggerIntake,
    private readonly ownership: EventOwnership,
  ) {}

  async accept(event: TriggerEvent): Promise<{ enrolled: number }> {
    await this.ownership.check(event);
    return this.inner.accept(event);
  }
}

function violation(code: string, message: string): Violation {
  return { code, actionId: null, message };
}

/** id → owner UserID, at most `limit` ids; the least recently used goes first. */
class OwnerCache {
  private readonly owners = new Map<number, number>();

  constructor(private readonly limit: number) {}

  get(id: number): number | undefined {
    const owner = this.owners.get(id);
    if (owner !== undefined) {
      // Map keeps insertion order: moving the id to the end marks it as recently used.
      this.owners.delete(id);
      this.owners.set(id, owner);
    }
    return owner;
  }

  set(id: number, owner: number): void {
    this.owners.delete(id);
    this.owners.set(id, owner);
    if (this.owners.size > this.limit) this.owners.delete(this.owners.keys().next().value as number);
  }
}

/**
 * Reads asked for under the same key in the same tick share one call, made
 * on the next turn of the event loop with every ask of the tick. A failed call
 * fails its askers only; nothing of it is kept.
 */
class SameTickReads<Ask, Answer> {
  private readonly open = new Map<string, { asks: Ask[]; answer: Promise<Answer> }>();

  constructor(private readonly load: (asks: Ask[]) => Promise<Answer>) {}

  read(key: string, ask: Ask): Promise<Answer> {
    let batch = this.open.get(key);
    if (!batch) {
      const asks: Ask[] = [];
      const answer = new Promise<Answer>((resolve, reject) => {
        setImmediate(() => {
          this.open.delete(key);
          try {
            this.load(asks).then(resolve, reject);
          } catch (error) {
            reject(error);
          }
        });
      });
      batch = { asks, answer };
      this.open.set(key, batch);
    }
    batch.asks.push(ask);
    return batch.answer;
  }
}
