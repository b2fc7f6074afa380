/**
 * Yes/No conditions: what each rule attribute is, which operators it accepts,
 * and how a rule is judged against a subscriber.
 *
 * Judging follows the host: text comparisons ignore case and surrounding
 * spaces; numbers compare as numbers; a missing value (null or blank) is
 * "not set", never equal to anything and never greater or smaller.
 */
import type { ActivityCounts, HostCustomField, HostSubscriber } from './host-facts.types';
import { allActions } from './action-tree';
import { isDateText, parseDateText } from './dates';
import type { Action, ConditionAction, ConditionRule, IdSelection, RuleAttribute, RuleOperator } from './journey.types';
import { type SUBSCRIBER_ATTRIBUTES, assertNever } from './journey.types';
import { activityKey, type StepFacts } from './host-facts.types';

export type AttributeKind = 'text' | 'number' | 'date' | 'activity' | 'enum';

/** What a condition needs to know about the subscriber. */
export type ConditionFacts = Pick<StepFacts, 'subscriber' | 'activity' | 'timeZone'>;

export type FieldTypeInfo = Pick<HostCustomField, 'customFieldId' | 'fieldType'>;

const OPERATORS_BY_KIND: Record<AttributeKind, readonly RuleOperator[]> = {
  text: ['equals', 'is_not', 'contains', 'does_not_contain', 'begins_with', 'ends_with', 'is_set', 'is_not_set'],
  number: ['equals', 'is_not', 'greater_than', 'smaller_than', 'at_least', 'at_most', 'is_set', 'is_not_set'],
  date: ['before', 'after', 'is_set', 'is_not_set'],
  enum: ['equals', 'is_not', 'is_set', 'is_not_set'],
  activity: ['at_least', 'at_most'],
};

/** Operators an attribute kind accepts: the planner offers only these, the validator refuses the others. */
export function operatorsFor(kind: AttributeKind): readonly RuleOperator[] {
  return OPERATORS_BY_KIND[kind];
}

export const VALUELESS_OPERATORS: readonly RuleOperator[] = ['is_set', 'is_not_set'];

const SUBSCRIBER_ATTRIBUTE_KINDS: Record<(typeof SUBSCRIBER_ATTRIBUTES)[number], AttributeKind> = {
  SubscriberID: 'number',
  EmailAddress: 'text',
  BounceType: 'enum',
  SubscriptionStatus: 'enum',
  SubscriptionDate: 'date',
  SubscriptionIP: 'text',
  OptInDate: 'date',
};

/** Host custom field types, lower-cased, that are not plain text. */
const CUSTOM_FIELD_KINDS: Record<string, AttributeKind> = {
  number: 'number',
  'date field': 'date',
  'multiple choice': 'enum',
  'drop down': 'enum',
};

const CUSTOM_FIELD_ATTRIBUTE = /^CustomField:(\d+)$/;

/** The field id of a `CustomField:<id>` attribute, else null. */
export function customFieldIdOf(attribute: string): number | null {
  const match = CUSTOM_FIELD_ATTRIBUTE.exec(attribute);
  return match ? Number(match[1]) : null;
}

export function isActivityAttribute(attribute: string): attribute is 'Opens' | 'Clicks' {
  return attribute === 'Opens' || attribute === 'Clicks';
}

/** The kind of an attribute, or null when it is not one (e.g. a custom field the owner does not have). */
export function attributeKind(attribute: string, fields: readonly FieldTypeInfo[]): AttributeKind | null {
  if (isActivityAttribute(attribute)) return 'activity';
  if (Object.hasOwn(SUBSCRIBER_ATTRIBUTE_KINDS, attribute)) return SUBSCRIBER_ATTRIBUTE_KINDS[attribute as keyof typeof SUBSCRIBER_ATTRIBUTE_KINDS];
  const fieldId = customFieldIdOf(attribute);
  if (fieldId === null) return null;
  const field = fields.find((candidate) => candidate.customFieldId === fieldId);
  if (!field) return null;
  const fieldType = field.fieldType.trim().toLowerCase();
  return Object.hasOwn(CUSTOM_FIELD_KINDS, fieldType) ? CUSTOM_FIELD_KINDS[fieldType] : 'text';
}

const NUMBER_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

export function toNumber(value: string | number | null | undefined): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string' || !NUMBER_TEXT.test(value.trim())) return null;
  return Number(value.trim());
}

export const SUBSCRIPTION_STATUSES = ['Opt-In Pending', 'Subscribed', 'Opt-Out Pending', 'Unsubscribed'] as const;

/**
 * What is wrong with a rule's value for that kind and operator, or null when
 * it is fine. Shared by the validator and the planner.
 */
export function ruleValueProblem(kind: AttributeKind, operator: RuleOperator, value: string | undefined, attribute?: string): string | null {
  if (VALUELESS_OPERATORS.includes(operator)) return null;
  if (value === undefined || value.trim() === '') return 'a value is required';
  switch (kind) {
    case 'text':
      return null;
    case 'enum':
      if (attribute === 'SubscriptionStatus' && !SUBSCRIPTION_STATUSES.some((s) => s.toLowerCase() === value.trim().toLowerCase())) {
        return `the value must be one of ${SUBSCRIPTION_STATUSES.join(', ')}`;
      }
      return null;
    case 'number':
      return toNumber(value) === null ? 'the value must be a number' : null;
    case 'activity': {
      const count = toNumber(value);
      return count === null || !Number.isInteger(count) || count < 0 ? 'the value must be a whole number ≥ 0' : null;
    }
    case 'date':
      return isDateText(value) ? null : 'the value must be a date (YYYY-MM-DD) or an ISO date-time';
    default:
      return assertNever(kind, 'attribute kind');
  }
}

type AttributeValue = string | number | Date | null;

function activityCounts(facts: ConditionFacts, emailIds: IdSelection | undefined): ActivityCounts {
  const key = activityKey(emailIds);
  const counts = facts.activity[key];
  // A missing lookup is a runtime bug (requiredActivity() names them all); guessing 0 would route silently wrong.
  if (!counts) throw new Error(`Activity for emails "${key}" was not loaded for this condition`);
  return counts;
}

function subscriberValue(subscriber: HostSubscriber, attribute: RuleAttribute): AttributeValue {
  switch (attribute) {
    case 'SubscriberID':
      return subscriber.subscriberId;
    case 'EmailAddress':
      return subscriber.emailAddress;
    case 'BounceType':
      return subscriber.bounceType;
    case 'SubscriptionStatus':
      return subscriber.subscriptionStatus;
    case 'SubscriptionDate':
      return subscriber.subscriptionDate;
    case 'SubscriptionIP':
      return subscriber.subscriptionIp;
    case 'OptInDate':
      return subscriber.optInDate;
    default: {
      const fieldId = customFieldIdOf(attribute);
      return fieldId === null ? null : (subscriber.customFields[fieldId] ?? null);
    }
  }
}

function attributeValue(rule: ConditionRule, facts: ConditionFacts): AttributeValue {
  if (rule.attribute === 'Opens') return activityCounts(facts, rule.emailIds).opens;
  if (rule.attribute === 'Clicks') return activityCounts(facts, rule.emailIds).clicks;
  return subscriberValue(facts.subscriber, rule.attribute);
}

function isSet(value: AttributeValue): boolean {
  if (value === null) return false;
  if (typeof value === 'string') return value.trim() !== '';
  if (value instanceof Date) return !Number.isNaN(value.getTime());
  return true;
}

function asText(value: AttributeValue): string {
  if (value instanceof Date) return value.toISOString();
  return String(value).trim().toLowerCase();
}

function asNumber(value: AttributeValue): number | null {
  return typeof value === 'number' || typeof value === 'string' ? toNumber(value) : null;
}

function equalsValue(actual: AttributeValue, expected: string): boolean {
  if (!isSet(actual)) return false;
  const [left, right] = [asNumber(actual), toNumber(expected)];
  if (left !== null && right !== null) return left === right;
  return asText(actual) === expected.trim().toLowerCase();
}

/** The actual value as an instant range: a Date is one instant, a date text may be a whole day. */
function asTimeRange(value: AttributeValue, timeZone: string): { start: number; end: number } | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : { start: value.getTime(), end: value.getTime() + 1 };
  if (typeof value !== 'string') return null;
  const parsed = parseDateText(value, timeZone);
  if (!parsed) return null;
  return parsed.kind === 'day' ? parsed : { start: parsed.at, end: parsed.at + 1 };
}

/** 'before' means wholly earlier than the value (a day value: before that day starts); 'after' wholly later. */
function compareDates(actual: AttributeValue, expected: string, operator: 'before' | 'after', timeZone: string): boolean {
  const left = asTimeRange(actual, timeZone);
  const right = asTimeRange(expected, timeZone);
  if (!left || !right) return false;
  return operator === 'before' ? left.end <= right.start : left.start >= right.end;
}

function compareNumbers(actual: AttributeValue, expected: string, test: (left: number, right: number) => boolean): boolean {
  const [left, right] = [asNumber(actual), toNumber(expected)];
  return left !== null && right !== null && test(left, right);
}

function textTest(actual: AttributeValue, expected: string, test: (haystack: string, needle: string) => boolean): boolean {
  return isSet(actual) && test(asText(actual), expected.trim().toLowerCase());
}

export function evaluateRule(rule: ConditionRule, facts: ConditionFacts): boolean {
  const actual = attributeValue(rule, facts);
  const expected = rule.value ?? '';
  switch (rule.operator) {
    case 'equals':
      return equalsValue(actual, expected);
    case 'is_not':
      return !equalsValue(actual, expected);
    case 'contains':
      return textTest(actual, expected, (haystack, needle) => haystack.includes(needle));
    case 'does_not_contain':
      return !textTest(actual, expected, (haystack, needle) => haystack.includes(needle));
    case 'begins_with':
      return textTest(actual, expected, (haystack, needle) => haystack.startsWith(needle));
    case 'ends_with':
      return textTest(actual, expected, (haystack, needle) => haystack.endsWith(needle));
    case 'greater_than':
      return compareNumbers(actual, expected, (left, right) => left > right);
    case 'smaller_than':
      return compareNumbers(actual, expected, (left, right) => left < right);
    case 'at_least':
      return compareNumbers(actual, expected, (left, right) => left >= right);
    case 'at_most':
      return compareNumbers(actual, expected, (left, right) => left <= right);
    case 'before':
    case 'after':
      return compareDates(actual, expected, rule.operator, facts.timeZone);
    case 'is_set':
      return isSet(actual);
    case 'is_not_set':
      return !isSet(actual);
    default:
      return assertNever(rule.operator, 'rule operator');
  }
}

/** 'all': every rule holds; 'any': at least one does. An empty rule list is all-true / any-false (the validator refuses it). */
export function evaluateCondition(settings: ConditionAction['settings'], facts: ConditionFacts): boolean {
  return settings.match === 'all' ? settings.rules.every((rule) => evaluateRule(rule, facts)) : settings.rules.some((rule) => evaluateRule(rule, facts));
}

/** The activity lookups a tree's conditions need (one per distinct activityKey), for the runtime to load before advance(). */
export function requiredActivity(actions: readonly Action[]): IdSelection[] {
  const byKey = new Map<string, IdSelection>();
  for (const action of allActions(actions)) {
    if (action.type !== 'condition') continue;
    for (const rule of action.settings.rules) {
      if (!isActivityAttribute(rule.attribute)) continue;
      const key = activityKey(rule.emailIds);
      if (!byKey.has(key)) byKey.set(key, key === 'any' ? 'any' : [...(rule.emailIds as number[])].sort((a, b) => a - b));
    }
  }
  return [...byKey.values()];
}
