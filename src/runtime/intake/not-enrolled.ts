/**
 * Why a subscriber asked to enter a journey by hand (the API's
 * subscriber.journey.trigger) did not: a stable code for programs, with a
 * message for people. Admission and the insert decide the first three; the
 * journeys service adds not_subscribed before asking the runtime.
 */
import type { SubscriberRef } from '../../engine/host-facts.types';
import { assertNever } from '../../engine/journey.types';

export type NotEnrolledReason =
  /** A live entry (active, waiting or failed) of the subscriber is in the journey. */
  | 'already_active'
  /** The journey's re-entry rule is "once" and the subscriber has been in it. */
  | 'entered_once'
  /** The causation chain went past the loop bound: recorded as an exited entry, counted in Refused. */
  | 'loop_limit'
  /** The subscriber is not subscribed to the list (a journey triggered by unsubscription takes them all). */
  | 'not_subscribed';

/** A subscriber not enrolled, and why; `detail` adds what the reason depends on (the loop's chain, the subscription status). */
export interface NotEnrolledRef {
  ref: SubscriberRef;
  reason: NotEnrolledReason;
  detail?: string;
}

export interface NotEnrolled extends NotEnrolledRef {
  message: string;
}

export function notEnrolledMessage({ ref, reason, detail }: NotEnrolledRef): string {
  const who = `Subscriber ${ref.subscriberId} of list ${ref.listId}`;
  switch (reason) {
    case 'already_active':
      return `${who} is already in this journey`;
    case 'entered_once':
      return `${who} has been in this journey before, and it lets each subscriber in once`;
    case 'loop_limit':
      return `${who} was not enrolled. ${detail ?? 'Loop stopped'}`;
    case 'not_subscribed':
      return `${who} is not subscribed to the list${detail ? ` (${detail})` : ''}`;
    default:
      return assertNever(reason, 'reason');
  }
}

/** With their messages, in the order the subscribers were asked for. */
export function withMessages(notEnrolled: readonly NotEnrolledRef[], asked: readonly SubscriberRef[]): NotEnrolled[] {
  const order = new Map(asked.map((ref, i) => [`${ref.listId}:${ref.subscriberId}`, i] as const));
  const at = (n: NotEnrolledRef) => order.get(`${n.ref.listId}:${n.ref.subscriberId}`) ?? order.size;
  return [...notEnrolled].sort((a, b) => at(a) - at(b)).map((n) => ({ ...n, message: notEnrolledMessage(n) }));
}
