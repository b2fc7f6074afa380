/**
 * The host contract. Everything the plug-in needs from the email marketing
 * platform goes through these ports; nothing in the plug-in reaches around them.
 * Every method that reads or writes user data takes the owner's UserID and
 * answers only for that user's objects.
 */
import type { Request } from 'express';

export const HOST_PORTS = Symbol('HOST_PORTS');

export type SubscriptionStatus = 'Opt-In Pending' | 'Subscribed' | 'Opt-Out Pending' | 'Unsubscribed';

export interface HostUser {
  userId: number;
  emailAddress: string;
  firstName: string;
  lastName: string;
  /** IANA time zone, e.g. 'Europe/Istanbul'. */
  timeZone: string;
}

export interface HostList {
  listId: number;
  name: string;
  ownerUserId: number;
}

export interface HostCustomField {
  customFieldId: number;
  ownerUserId: number;
  /** 0 = global field (every list of the user). */
  listId: number;
  name: string;
  /** Host field types: 'Single line', 'Paragraph text', 'Multiple choice', 'Drop down', 'Checkboxes', 'Hidden field', 'Date field', 'Time field', 'Number'. */
  fieldType: string;
}

export interface HostEmail {
  emailId: number;
  ownerUserId: number;
  name: string;
  subject: string;
  /** Where the email is used: a campaign's or an autoresponder's email. */
  usedBy: { kind: 'campaign' | 'autoresponder'; id: number; name: string } | null;
}

export interface SubscriberRef {
  listId: number;
  subscriberId: number;
}

export interface HostSubscriber extends SubscriberRef {
  emailAddress: string;
  bounceType: string;
  subscriptionStatus: SubscriptionStatus;
  subscriptionDate: Date | null;
  subscriptionIp: string;
  unsubscriptionDate: Date | null;
  optInDate: Date | null;
  /** CustomFieldID → value (null when not set). */
  customFields: Record<number, string | null>;
}

/** Opens / clicks of a subscriber, optionally restricted to some emails. */
export interface ActivityCounts {
  opens: number;
  clicks: number;
}

export interface AudiencePort {
  getUser(userId: number): Promise<HostUser | null>;
  listLists(userId: number): Promise<HostList[]>;
  getList(userId: number, listId: number): Promise<HostList | null>;
  getSubscriber(userId: number, ref: SubscriberRef): Promise<HostSubscriber | null>;
  /** Batch read of one list's subscribers (missing ids are left out). */
  getSubscribers(userId: number, listId: number, subscriberIds: number[]): Promise<HostSubscriber[]>;
  findSubscribersByEmail(userId: number, emailAddress: string): Promise<HostSubscriber[]>;
  /** Fields usable on a list: its own plus the user's global ones; all of the user's when listId is omitted. */
  listCustomFields(userId: number, listId?: number): Promise<HostCustomField[]>;
  listEmails(userId: number): Promise<HostEmail[]>;
  getActivity(userId: number, ref: SubscriberRef, emailIds: number[] | 'any'): Promise<ActivityCounts>;
}

/**
 * Causation travels through the host with subscribe / unsubscribe so that a
 * journey → Subscribe → list → journey cycle can be bounded.
 */
export interface CausationContext {
  /** Id of the chain this write belongs to (first event id of the chain). */
  chainId: string;
  /** How many journey-caused hops led here. */
  depth: number;
}

export interface SubscriptionCommandsPort {
  /** The host's own subscription path: fires Subscriber.Subscribed, autoresponders. Idempotent for an already subscribed address. */
  subscribe(
    userId: number,
    listId: number,
    input: { emailAddress: string; customFields?: Record<number, string> },
    causation?: CausationContext,
  ): Promise<{ subscriberId: number; alreadySubscribed: boolean }>;
  /** The host's own unsubscription path: fires Subscriber.Unsubscribed. Idempotent. */
  unsubscribe(userId: number, ref: SubscriberRef, causation?: CausationContext): Promise<{ wasSubscribed: boolean }>;
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
}
