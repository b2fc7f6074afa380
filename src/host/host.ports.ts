/**
 * The host contract. Everything the plug-in needs from the email marketing
 * platform goes through these ports; nothing in the plug-in reaches around them.
 * Every method that reads or writes user data takes the owner's UserID and
 * answers only for that user's objects.
 */
import type { Request } from 'express';
import type {
  CausationContext,
  HostCustomField,
  HostEmail,
  HostList,
  HostSubscriber,
  HostUser,
  SubscriberRef,
  ActivityCounts,
} from '../engine/host-facts.types';

export type {
  ActivityCounts,
  CausationContext,
  HostCustomField,
  HostEmail,
  HostList,
  HostSubscriber,
  HostUser,
  SubscriberRef,
  SubscriptionStatus,
} from '../engine/host-facts.types';

export const HOST_PORTS = Symbol('HOST_PORTS');

/** A subscriber and their email address. */
export interface SubscriberAddress extends SubscriberRef {
  emailAddress: string;
}

export interface AudiencePort {
  getUser(userId: number): Promise<HostUser | null>;
  listLists(userId: number): Promise<HostList[]>;
  getList(userId: number, listId: number): Promise<HostList | null>;
  getSubscriber(userId: number, ref: SubscriberRef): Promise<HostSubscriber | null>;
  /** Batch read of one list's subscribers (missing ids are left out). */
  getSubscribers(userId: number, listId: number, subscriberIds: number[]): Promise<HostSubscriber[]>;
  /**
   * Optional, lighter: which of these ids are subscribers of the user's list
   * (the plug-in checks every hook event's SubscriberID this way). The plug-in
   * falls back to getSubscribers without it.
   */
  existingSubscriberIds?(userId: number, listId: number, subscriberIds: number[]): Promise<number[]>;
  findSubscribersByEmail(userId: number, emailAddress: string): Promise<HostSubscriber[]>;
  /**
   * Optional batch form for one person's subscriptions: the user's subscribers,
   * on any of the user's lists, whose email address is that of one of `refs`
   * (`refs` themselves included; refs that are not the user's are ignored).
   * Exit Journey and Exit All Other Journeys act on every subscription of
   * the person, and a list import needs this for thousands of subscribers at
   * once. The plug-in falls back to getSubscribers and one
   * findSubscribersByEmail per address without it.
   */
  findSameEmailSubscribers?(userId: number, refs: SubscriberRef[]): Promise<SubscriberAddress[]>;
  /** Fields usable on a list: its own plus the user's global ones; all of the user's when listId is omitted. */
  listCustomFields(userId: number, listId?: number): Promise<HostCustomField[]>;
  listEmails(userId: number): Promise<HostEmail[]>;
  getActivity(userId: number, ref: SubscriberRef, emailIds: number[] | 'any'): Promise<ActivityCounts>;
}

/**
 * What a host port throws to say "trying again will not help" (an unknown or
 * deleted list, an address the host refuses): the entry stops at that action
 * as failed, with this message shown in the admin and the API, where a user
 * can retry or skip it. Any other error is taken as transient (host database
 * away, timeout) and retried with backoff.
 */
export class PermanentHostError extends Error {
  override readonly name = 'PermanentHostError';
}

/**
 * Subscription writes made on a journey's behalf. Each carries an
 * idempotency key (the id of the step's claim, stable across retries and
 * crashes): a host that has already done the work for a key answers the
 * first call's result again without repeating it. The guarantee the plug-in
 * states is "effects inside MySQL exactly once; host calls idempotent by key;
 * webhooks at least once with a stable webhook-id", so a host that ignores
 * the key may see a call again after a worker crash.
 */
export interface SubscriptionCommandsPort {
  /** The host's own subscription path: fires Subscriber.Subscribed, autoresponders. Idempotent for an already subscribed address. */
  subscribe(
    userId: number,
    listId: number,
    input: { emailAddress: string; customFields?: Record<number, string> },
    causation?: CausationContext,
    idempotencyKey?: string,
  ): Promise<{ subscriberId: number; alreadySubscribed: boolean }>;
  /** The host's own unsubscription path: fires Subscriber.Unsubscribed. Idempotent. */
  unsubscribe(userId: number, ref: SubscriberRef, causation?: CausationContext, idempotencyKey?: string): Promise<{ wasSubscribed: boolean }>;
  /**
   * Sets one custom field value. `transaction` lets the plug-in write in the
   * same MySQL transaction as its step claim when host and plug-in share a database.
   */
  setCustomField(userId: number, ref: SubscriberRef, fieldId: number, value: string | null, transaction?: unknown): Promise<void>;
  /**
   * Optional batch form for one list: a list import moving thousands of
   * subscribers through Update Custom Field needs a few statements per batch,
   * not three per value. Writes come in order; the last one of a (subscriber,
   * field) pair wins. The runtime falls back to setCustomField without it.
   */
  setCustomFields?(userId: number, listId: number, writes: CustomFieldWrite[], transaction?: unknown): Promise<void>;
  /**
   * Optional batch forms of subscribe / unsubscribe for one owner: many
   * journeys' Subscribe actions carried out in one call. One outcome per
   * request, in request order; a request that fails does not fail the others.
   * The runtime falls back to one subscribe / unsubscribe call per request
   * without them.
   */
  subscribeMany?(userId: number, requests: SubscribeRequest[]): Promise<HostCallOutcome<{ subscriberId: number; alreadySubscribed: boolean }>[]>;
  unsubscribeMany?(userId: number, requests: UnsubscribeRequest[]): Promise<HostCallOutcome<{ wasSubscribed: boolean }>[]>;
}

export interface SubscribeRequest {
  listId: number;
  emailAddress: string;
  customFields?: Record<number, string>;
  causation?: CausationContext;
  idempotencyKey: string;
}

export interface UnsubscribeRequest {
  ref: SubscriberRef;
  causation?: CausationContext;
  idempotencyKey: string;
}

/** The outcome of one request of a batch call: its result, or why it failed (permanent: retrying will not help). */
export type HostCallOutcome<T> = ({ ok: true } & T) | { ok: false; permanent: boolean; error: string };

/**
 * Sending one email of the user to one subscriber, on a journey's behalf (the
 * Send Email action). The plug-in never sends mail itself: the host renders,
 * sends and tracks it (its open and click tracking then fire Email.Opened and
 * Link.Clicked as for any email). Idempotent by key like the subscription writes.
 */
export interface SendEmailRequest {
  userId: number;
  listId: number;
  subscriberId: number;
  emailId: number;
  journeyId: number;
  entryId: number;
  idempotencyKey: string;
}

/**
 * `sent`: the host accepted it for delivery. `undeliverable`: the subscriber
 * cannot receive it (not subscribed, bounced, suppressed); the journey then
 * skips the action or exits, as the action says. Errors are thrown:
 * PermanentHostError for a request that can never succeed, anything else is retried.
 */
export type SendEmailResult =
  { status: 'sent'; messageId: string } | { status: 'undeliverable'; reason: 'not_subscribed' | 'bounced' | 'suppressed'; message: string };

export interface EmailSenderPort {
  send(request: SendEmailRequest): Promise<SendEmailResult>;
  /** Optional batch form: one outcome per request, in order. */
  sendMany?(requests: SendEmailRequest[]): Promise<HostCallOutcome<SendEmailResult>[]>;
}

export interface CustomFieldWrite {
  subscriberId: number;
  fieldId: number;
  value: string | null;
}

export interface MenuEntry {
  location: 'Campaigns';
  title: string;
  route: string;
}

export interface AdminContextPort {
  /** The logged-in user of the host admin, or null. */
  currentUser(req: Request): Promise<HostUser | null>;
  /** Where the host sends someone who is not logged in. */
  loginUrl(): string;
  /** Wraps plug-in page content (already-escaped HTML) in the host's admin layout and menu. */
  renderLayout(req: Request, page: { title: string; content: string; activeMenu?: string; stylesheets?: string[]; scripts?: string[] }): Promise<string>;
}

export type HookHandler = (payload: unknown) => Promise<void>;

export interface HookBusPort {
  on(hookName: string, handler: HookHandler): void;
  fire(hookName: string, payload: unknown): Promise<void>;
}

export interface HostPorts {
  audience: AudiencePort;
  subscriptions: SubscriptionCommandsPort;
  admin: AdminContextPort;
  hooks: HookBusPort;
  /** Needed by the Send Email action only; a host without it cannot run journeys that send email. */
  email?: EmailSenderPort;
}
