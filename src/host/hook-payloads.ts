/**
 * Payloads of the host hooks the plug-in listens to, as the host passes them
 * (in-process) or posts them (HTTP ingest). Field names follow the host's style.
 */
import type { CausationContext } from './host.ports';

export const HOOK_NAMES = ['Subscriber.Subscribed', 'Subscriber.Unsubscribed', 'Email.Opened', 'Link.Clicked', 'Conversion.Postback'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

interface SubscriberHookBase {
  /**
   * Id of this occurrence (at most 128 characters): the plug-in enrols once
   * per EventID, so it must be unique per occurrence and stable when the same
   * occurrence is delivered again. Build it from the row that records the
   * occurrence (e.g. `subscribed-<id of the subscription event row>`,
   * `opened-<StatID>`), never from a timestamp: a subscribe → unsubscribe →
   * subscribe within one second is three occurrences with three ids. A
   * re-delivery of the same occurrence (a conversion postback repeating its
   * TransactionID) carries the first delivery's EventID.
   */
  EventID: string;
  UserID: number;
  ListID: number;
  SubscriberID: number;
  EmailAddress: string;
  /** When it happened, ISO 8601 with milliseconds (`2026-11-27T08:30:15.250Z`). */
  OccurredAt: string;
  /** Present when a journey action caused this event (loop bound). */
  Causation?: CausationContext;
}

export type SubscribedHookPayload = SubscriberHookBase;
export type UnsubscribedHookPayload = SubscriberHookBase;

export interface EmailOpenedHookPayload extends SubscriberHookBase {
  EmailID: number;
  CampaignID: number | null;
  AutoResponderID: number | null;
}

export interface LinkClickedHookPayload extends EmailOpenedHookPayload {
  URL: string;
}

export interface ConversionHookPayload extends EmailOpenedHookPayload {
  Channel: string | null;
  Value: number | null;
}
