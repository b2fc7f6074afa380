/**
 * Payloads of the host hooks the plug-in listens to, as the host passes them
 * (in-process) or posts them (HTTP ingest). Field names follow the host's style.
 */
import type { CausationContext } from './host.ports';

export const HOOK_NAMES = ['Subscriber.Subscribed', 'Subscriber.Unsubscribed', 'Email.Opened', 'Link.Clicked', 'Conversion.Postback'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

interface SubscriberHookBase {
  /** Stable id of this host event: the same id never enrols twice. */
  EventID: string;
  UserID: number;
  ListID: number;
  SubscriberID: number;
  EmailAddress: string;
  /** ISO 8601. */
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
