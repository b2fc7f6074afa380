/**
 * The journey definition: its trigger and its action tree.
 * Pure data, shared by the engine, the runtime, the planner and the API.
 */

export const TRIGGER_TYPES = ['subscription', 'unsubscription', 'email_opened', 'conversion', 'link_clicked', 'manual'] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

/** `'any'` matches every list / email of the journey's owner. */
export type IdSelection = 'any' | number[];

export type Trigger =
  | { type: 'subscription'; listIds: IdSelection }
  | { type: 'unsubscription'; listIds: IdSelection }
  | { type: 'email_opened'; emailIds: IdSelection }
  | { type: 'conversion'; emailIds: IdSelection; channel?: string; minValue?: number }
  | { type: 'link_clicked'; emailIds: IdSelection; link?: LinkSpec }
  | { type: 'manual' };

export const WAIT_UNITS = ['seconds', 'minutes', 'hours', 'days'] as const;
export type WaitUnit = (typeof WAIT_UNITS)[number];

/** Send window in the owner's time zone. Weekdays: 0 = Sunday … 6 = Saturday. */
export interface SendWindow {
  notBefore?: string; // 'HH:MM'
  notAfter?: string; // 'HH:MM'
  weekdays?: number[];
}

export const RULE_OPERATORS = [
  'equals',
  'is_not',
  'contains',
  'does_not_contain',
  'begins_with',
  'ends_with',
  'greater_than',
  'smaller_than',
  'before',
  'after',
  'is_set',
  'is_not_set',
  'at_least',
  'at_most',
] as const;
export type RuleOperator = (typeof RULE_OPERATORS)[number];

/**
 * Rule attribute: a host subscriber column, `CustomField:<id>`, or an activity
 * counter (`Opens` / `Clicks`, restricted to `emailIds` when given).
 */
export const SUBSCRIBER_ATTRIBUTES = [
  'SubscriberID',
  'EmailAddress',
  'BounceType',
  'SubscriptionStatus',
  'SubscriptionDate',
  'SubscriptionIP',
  'OptInDate',
] as const;
export type SubscriberAttribute = (typeof SUBSCRIBER_ATTRIBUTES)[number];
export type RuleAttribute = SubscriberAttribute | `CustomField:${number}` | 'Opens' | 'Clicks';

export interface ConditionRule {
  attribute: RuleAttribute;
  operator: RuleOperator;
  value?: string;
  /** Only for Opens / Clicks: which emails count ('any' when absent). */
  emailIds?: IdSelection;
}

export const WEBHOOK_METHODS = ['POST', 'PUT', 'PATCH', 'GET', 'DELETE'] as const;
export type WebhookMethod = (typeof WEBHOOK_METHODS)[number];

interface ActionOf<T extends string, S> {
  id: string;
  type: T;
  settings: S;
}

export type WaitAction = ActionOf<'wait', { amount: number; unit: WaitUnit; window?: SendWindow }>;
export type ConditionAction = ActionOf<'condition', { match: 'all' | 'any'; rules: ConditionRule[] }> & {
  yes: Action[];
  no: Action[];
};
export type StartJourneyAction = ActionOf<'start_journey', { journeyId: number }>;
export type ExitJourneyAction = ActionOf<'exit_journey', { journeyIds: number[] }>;
export type ExitThisJourneyAction = ActionOf<'exit_this_journey', Record<string, never>>;
export type ExitAllOtherJourneysAction = ActionOf<'exit_all_other_journeys', Record<string, never>>;
export type SubscribeAction = ActionOf<'subscribe', { listId: number }>;
export type UnsubscribeAction = ActionOf<'unsubscribe', { listId: number }>;
export type UpdateCustomFieldAction = ActionOf<'update_custom_field', { fieldId: number; value: string }>;
export type WebhookAction = ActionOf<'webhook', { url: string; method: WebhookMethod; headers?: Record<string, string>; includeCustomFields?: boolean }>;

/** A link of a click: the exact URL, or a pattern where `*` matches anything. */
export interface LinkSpec {
  match: 'exact' | 'pattern';
  value: string;
}

/** The email an awaited event is about: any, chosen ones, or the one a Send Email action of this journey sent (by its action id). */
export type EmailTarget = IdSelection | { sentBy: string };

/** What a Wait for event waits for: an open, a click (optionally of a link), a conversion (optionally of a channel and minimum value). */
export type AwaitedEvent =
  | { type: 'email_opened'; emailIds: EmailTarget }
  | { type: 'link_clicked'; emailIds: EmailTarget; link?: LinkSpec }
  | { type: 'conversion'; emailIds: EmailTarget; channel?: string; minValue?: number };

export const UNDELIVERABLE_CHOICES = ['skip', 'exit'] as const;

export type SendEmailAction = ActionOf<'send_email', { emailId: number; whenUndeliverable: (typeof UNDELIVERABLE_CHOICES)[number] }>;
/** Yes as soon as the event arrives, No when the timeout passes (a time with the optional send window, like Wait). */
export type WaitForEventAction = ActionOf<'wait_for_event', { event: AwaitedEvent; timeout: WaitAction['settings'] }> & {
  yes: Action[];
  no: Action[];
};
/** 2–5 paths; each entry takes one, chosen once and deterministically by the percentages. */
export type RandomSplitAction = ActionOf<'random_split', { percents: number[] }> & { paths: Action[][] };

export const MIN_SPLIT_PATHS = 2;
export const MAX_SPLIT_PATHS = 5;

export type Action =
  | WaitAction
  | ConditionAction
  | StartJourneyAction
  | ExitJourneyAction
  | ExitThisJourneyAction
  | ExitAllOtherJourneysAction
  | SubscribeAction
  | UnsubscribeAction
  | UpdateCustomFieldAction
  | WebhookAction
  | SendEmailAction
  | WaitForEventAction
  | RandomSplitAction;

export type ActionType = Action['type'];

export const ACTION_TYPES: readonly ActionType[] = [
  'wait',
  'condition',
  'start_journey',
  'exit_journey',
  'exit_this_journey',
  'exit_all_other_journeys',
  'subscribe',
  'unsubscribe',
  'update_custom_field',
  'webhook',
  'send_email',
  'wait_for_event',
  'random_split',
];

export type JourneyStatus = 'Enabled' | 'Disabled';
/** `allow`: a subscriber may enter again after an earlier pass ended; `once`: never twice. */
export type ReEntryRule = 'allow' | 'once';

/**
 * A journey's goal: when an entry meets it, the entry leaves the journey as
 * "converted", wherever it stands (also while waiting), and no further action
 * runs. A conversion or a click (as their triggers describe them) since the
 * entry entered, or a custom field condition that is true.
 */
export type JourneyGoal =
  | { type: 'conversion'; emailIds: IdSelection; channel?: string; minValue?: number }
  | { type: 'link_clicked'; emailIds: IdSelection; link?: LinkSpec }
  | { type: 'custom_field'; rule: ConditionRule };

export const GOAL_TYPES = ['conversion', 'link_clicked', 'custom_field'] as const;

export interface JourneyDefinition {
  journeyId: number;
  ownerUserId: number;
  name: string;
  status: JourneyStatus;
  reEntry: ReEntryRule;
  trigger: Trigger;
  actions: Action[];
  version: number;
  goal?: JourneyGoal | null;
}

export function assertNever(value: never, what = 'value'): never {
  throw new Error(`Unexpected ${what}: ${JSON.stringify(value)}`);
}
