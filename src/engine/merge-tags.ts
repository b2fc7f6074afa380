/**
 * Oempro-style merge tags in Update Custom Field values, e.g.
 * `%Subscriber:EmailAddress%`, `%Subscriber:SubscriberID%`,
 * `%Subscriber:CustomField12%`.
 *
 * Rules:
 * - Tag names are matched without regard to case (`%subscriber:emailaddress%` works).
 * - A recognised tag whose value is missing (a field that is not set, or not
 *   on this subscriber's list) becomes the empty string: the value is unknown,
 *   not the tag's text.
 * - Anything else between percent signs is left exactly as written, so text
 *   such as "50% off, 20% more" survives and a typo stays visible to the user.
 *   The validator flags unknown `%Subscriber:…%` tags at save.
 * - Dates become ISO 8601 (UTC).
 */
import type { HostSubscriber } from './host-facts.types';
import { assertNever } from './journey.types';

const TAG = /%Subscriber:([A-Za-z]+)(\d*)%/gi;

/** Tag names (lower-cased) → subscriber value. */
const SUBSCRIBER_TAGS: Record<string, (subscriber: HostSubscriber) => string | number | Date | null> = {
  emailaddress: (s) => s.emailAddress,
  subscriberid: (s) => s.subscriberId,
  bouncetype: (s) => s.bounceType,
  subscriptionstatus: (s) => s.subscriptionStatus,
  subscriptiondate: (s) => s.subscriptionDate,
  subscriptionip: (s) => s.subscriptionIp,
  optindate: (s) => s.optInDate,
};

export const MERGE_TAG_NAMES = [
  'EmailAddress',
  'SubscriberID',
  'BounceType',
  'SubscriptionStatus',
  'SubscriptionDate',
  'SubscriptionIP',
  'OptInDate',
  'CustomField<ID>',
] as const;

export type MergeTag =
  { kind: 'subscriber'; text: string; name: string } | { kind: 'custom_field'; text: string; fieldId: number } | { kind: 'unknown'; text: string };

function classify(text: string, name: string, digits: string): MergeTag {
  const lower = name.toLowerCase();
  if (lower === 'customfield' && digits !== '') return { kind: 'custom_field', text, fieldId: Number(digits) };
  if (digits === '' && Object.hasOwn(SUBSCRIBER_TAGS, lower)) return { kind: 'subscriber', text, name: lower };
  return { kind: 'unknown', text };
}

/** The `%Subscriber:…%` tags in a template, in order (for the validator and the planner). */
export function mergeTagsIn(template: string): MergeTag[] {
  return [...template.matchAll(TAG)].map((match) => classify(match[0], match[1], match[2]));
}

function display(value: string | number | Date | null | undefined): string {
  if (value === null || value === undefined) return '';
  return value instanceof Date ? value.toISOString() : String(value);
}

export function resolveMergeTags(template: string, subscriber: HostSubscriber): string {
  return template.replace(TAG, (text: string, name: string, digits: string) => {
    const tag = classify(text, name, digits);
    switch (tag.kind) {
      case 'subscriber':
        return display(SUBSCRIBER_TAGS[tag.name](subscriber));
      case 'custom_field':
        return display(subscriber.customFields[tag.fieldId]);
      case 'unknown':
        return tag.text;
      default:
        return assertNever(tag, 'merge tag');
    }
  });
}
