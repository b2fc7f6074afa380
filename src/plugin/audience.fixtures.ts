/**
 * The reads of an AudiencePort the ownership check makes, in memory, for unit
 * tests of the plug-in's glue: owners of lists and emails, the subscriber ids
 * of each list, and a record of every call, so a test can count the reads.
 */
import { aSubscriber } from '../engine/engine.fixtures';
import type { HostEmail, HostList, HostSubscriber } from '../host/host.ports';
import type { OwnershipReads } from './event-ownership';

export interface AudienceData {
  /** ListID → owner UserID. */
  lists: Record<number, number>;
  /** ListID → its SubscriberIDs. */
  subscribers: Record<number, number[]>;
  /** EmailID → owner UserID. */
  emails: Record<number, number>;
}

export class CountingAudience implements OwnershipReads {
  readonly calls = {
    getList: [] as [userId: number, listId: number][],
    getSubscribers: [] as [userId: number, listId: number, subscriberIds: number[]][],
    listEmails: [] as number[],
  };
  /** The next read fails with this error (a host database away). */
  failNextRead: Error | null = null;

  constructor(readonly data: AudienceData) {}

  private failIfAsked(): void {
    const failure = this.failNextRead;
    this.failNextRead = null;
    if (failure) throw failure;
  }

  async getList(userId: number, listId: number): Promise<HostList | null> {
    this.calls.getList.push([userId, listId]);
    this.failIfAsked();
    return this.data.lists[listId] === userId ? { listId, name: `List ${listId}`, ownerUserId: userId } : null;
  }

  async getSubscribers(userId: number, listId: number, subscriberIds: number[]): Promise<HostSubscriber[]> {
    this.calls.getSubscribers.push([userId, listId, subscriberIds]);
    this.failIfAsked();
    if (this.data.lists[listId] !== userId) return [];
    const existing = new Set(this.data.subscribers[listId] ?? []);
    return subscriberIds.filter((id) => existing.has(id)).map((subscriberId) => aSubscriber({ listId, subscriberId }));
  }

  async listEmails(userId: number): Promise<HostEmail[]> {
    this.calls.listEmails.push(userId);
    this.failIfAsked();
    return Object.entries(this.data.emails)
      .filter(([, owner]) => owner === userId)
      .map(([id]) => ({ emailId: Number(id), ownerUserId: userId, name: `Email ${id}`, subject: '', usedBy: null }));
  }
}
