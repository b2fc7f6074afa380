/**
 * What the engine knows of the host's objects: the subscriber facts a step
 * decides on, activity counts, the causation chain, and the owner's lists,
 * fields and emails that validation checks against, and the facts of a step. The engine owns these
 * shapes; the host contract (src/host/host.ports.ts) re-exports them, so the
 * engine never imports from outside itself.
 */
import type { IdSelection } from './journey.types';

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

/** An open, click or conversion of the subscriber the plug-in has seen (for goals and Wait for event). */
export interface SubscriberEvent {
  eventId: string;
  type: 'email_opened' | 'link_clicked' | 'conversion';
  emailId?: number;
  url?: string;
  channel?: string | null;
  value?: number | null;
  occurredAt: Date;
}

/** What a step decides on: the subscriber, their activity and recent events, the owner's time zone and field names. */
export interface StepFacts {
  subscriber: HostSubscriber;
  /** Activity counts keyed by `activityKey(emailIds)`; the runtime loads those `requiredActivity()` names. */
  activity: Record<string, ActivityCounts>;
  /** Owner's IANA time zone, for send windows. */
  timeZone: string;
  /** Custom field id → name, for merge tags and webhook payloads. */
  customFieldNames?: Record<number, string>;
  /** The subscriber's recent opens, clicks and conversions, oldest first; loaded for journeys with a goal or a Wait for event. */
  events?: SubscriberEvent[];
}

/** Key of an activity lookup in StepFacts.activity. */
export function activityKey(emailIds: IdSelection | undefined): string {
  return emailIds === undefined || emailIds === 'any' ? 'any' : [...emailIds].sort((a, b) => a - b).join(',');
}
