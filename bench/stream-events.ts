/**
 * The events of the stream benchmark's steps, shared by the in-process feed
 * and the feeder process: which host hook a step sends and the payload for
 * subscriber n of a list (`import<n>@example.com`, as fillList makes them),
 * with an EventID of its own.
 */
import type { EmailOpenedHookPayload, SubscribedHookPayload } from '../src/host/hook-payloads';

/** What a step streams: subscriptions, or opens of one email. */
export type StreamEvents = { hook: 'Subscriber.Subscribed' } | { hook: 'Email.Opened'; emailId: number };

export interface StreamEventOf {
  userId: number;
  listId: number;
  subscriberId: number;
  /** Keeps the EventIDs of different sides apart (journey / baseline). */
  tag: string;
  occurredAt: string;
}

export function streamPayload(events: StreamEvents, e: StreamEventOf): SubscribedHookPayload | EmailOpenedHookPayload {
  const kind = events.hook === 'Email.Opened' ? 'stream-open' : 'stream';
  const subscriber: SubscribedHookPayload = {
    EventID: `${kind}-${e.tag}-${e.listId}-${e.subscriberId}`,
    UserID: e.userId,
    ListID: e.listId,
    SubscriberID: e.subscriberId,
    EmailAddress: `import${e.subscriberId}@example.com`,
    OccurredAt: e.occurredAt,
  };
  if (events.hook === 'Subscriber.Subscribed') return subscriber;
  return { ...subscriber, EmailID: events.emailId, CampaignID: null, AutoResponderID: null };
}
