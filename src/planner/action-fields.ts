/**
 * The settings fields of each action card, with their options pre-selected,
 * for views/partials/settings/<type>.hbs. Only the owner's lists, fields,
 * emails and journeys are offered; values are plain text (the views escape).
 */
import { attributeKind, isActivityAttribute, operatorsFor, VALUELESS_OPERATORS } from '../engine/conditions';
import { pathLetter } from '../engine/event-settings';
import { SUBSCRIBER_ATTRIBUTES, WAIT_UNITS, WEBHOOK_METHODS, type RuleOperator } from '../engine/journey.types';
import { isRecord } from '../engine/raw-input';
import type { HostEmail } from '../host/host.ports';
import { headersToText, type DraftRule } from './forms/action-settings.form';
import { draftBranches, sendersBefore, type DraftAction } from './forms/draft-tree';
import type { PlannerContext } from './planner-context';

export interface Option {
  value: string;
  label: string;
  selected: boolean;
  kind?: string;
  /** An email's own name, for planner.js to name "the email sent by" a Send Email. */
  name?: string;
}

export const OPERATOR_LABELS: Record<RuleOperator, string> = {
  equals: 'equals',
  is_not: 'is not',
  contains: 'contains',
  does_not_contain: 'does not contain',
  begins_with: 'begins with',
  ends_with: 'ends with',
  greater_than: 'is greater than',
  smaller_than: 'is smaller than',
  before: 'is before',
  after: 'is after',
  is_set: 'is set',
  is_not_set: 'is not set',
  at_least: 'at least',
  at_most: 'at most',
};

export const ATTRIBUTE_LABELS: Record<string, string> = {
  SubscriberID: 'Subscriber ID',
  EmailAddress: 'Email address',
  BounceType: 'Bounce type',
  SubscriptionStatus: 'Subscription status',
  SubscriptionDate: 'Subscription date',
  SubscriptionIP: 'Subscription IP',
  OptInDate: 'Opt-in date',
  Opens: 'Opens',
  Clicks: 'Clicks',
};

export const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** What a Wait for event waits for, as its form offers it: "Yes when they open the email". */
const AWAITED_EVENT_LABELS = { email_opened: 'they open the email', link_clicked: 'they click a link in it', conversion: 'they convert' } as const;

export function str(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

export function record(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

export function options(values: readonly Omit<Option, 'selected'>[], selected: unknown, placeholder?: string): Option[] {
  const picked = str(selected);
  const out: Option[] = values.map((v) => ({ ...v, selected: v.value === picked }));
  if (placeholder) out.unshift({ value: '', label: placeholder, selected: picked === '' });
  return out;
}

export function nameOf<T>(items: readonly T[], id: unknown, key: keyof T, name: keyof T, noun: string): string {
  const found = items.find((item) => String(item[key]) === str(id));
  return found ? String(found[name]) : id === undefined || id === '' ? `no ${noun} chosen` : `${noun} #${str(id)}`;
}

/** How a Send Email action is named where another action refers to it: by the email it sends. */
export function senderLabel(sender: DraftAction, ctx: PlannerContext): string {
  const emailId = sender.settings.emailId;
  return emailId === undefined || emailId === '' || emailId === 0
    ? 'Send Email (no email chosen yet)'
    : `Send Email “${nameOf(ctx.emails, emailId, 'emailId', 'name', 'email')}”`;
}

export function fieldsOf(action: DraftAction, ctx: PlannerContext): Record<string, unknown> {
  const s = action.settings ?? {};
  const listValues = ctx.lists.map((l) => ({ value: String(l.listId), label: l.name }));
  switch (action.type) {
    case 'wait':
      return waitFields(s);
    case 'condition': {
      const rules = Array.isArray(s.rules) ? (s.rules as DraftRule[]) : [];
      return {
        matches: options(
          [
            { value: 'all', label: 'all rules match' },
            { value: 'any', label: 'any rule matches' },
          ],
          s.match || 'all',
        ),
        rules: rules.map((rule, n) => ruleFields(rule, n, rules.length, ctx)),
      };
    }
    case 'start_journey':
      return {
        journeys: options(
          ctx.journeys.map((j) => ({ value: String(j.journeyId), label: j.name })),
          s.journeyId,
          'Choose a journey…',
        ),
      };
    case 'exit_journey': {
      const picked = Array.isArray(s.journeyIds) ? s.journeyIds.map(String) : [];
      return { journeys: ctx.journeys.map((j) => ({ value: String(j.journeyId), label: j.name, checked: picked.includes(String(j.journeyId)) })) };
    }
    case 'subscribe':
    case 'unsubscribe':
      return { lists: options(listValues, s.listId, 'Choose a list…') };
    case 'update_custom_field':
      return {
        fields: options(
          ctx.fields.map((f) => ({ value: String(f.customFieldId), label: f.name })),
          s.fieldId,
          'Choose a field…',
        ),
        value: str(s.value),
      };
    case 'webhook':
      return {
        url: str(s.url),
        methods: options(
          WEBHOOK_METHODS.map((m) => ({ value: m, label: m })),
          s.method || 'POST',
        ),
        headers: headersToText(s.headers),
        includeCustomFields: s.includeCustomFields === true || s.includeCustomFields === '1' || s.includeCustomFields === 'true',
      };
    case 'send_email':
      return {
        emails: options(emailValues(ctx), s.emailId, 'Choose an email…'),
        exitWhenUndeliverable: s.whenUndeliverable === 'exit',
      };
    case 'wait_for_event':
      return waitForEventFields(action, ctx);
    case 'random_split':
      return splitFields(action);
    default:
      return {};
  }
}

/** The owner's emails, named as the open and click triggers name them (with their campaign or autoresponder). */
function emailValues(ctx: PlannerContext): { value: string; label: string; name: string }[] {
  return ctx.emails.map((e) => ({
    value: String(e.emailId),
    name: e.name,
    label: e.usedBy ? `${e.name} (${e.usedBy.kind === 'campaign' ? 'campaign' : 'autoresponder'} ${e.usedBy.name})` : e.name,
  }));
}

/** The owner's emails as checkboxes (trigger and goal fields), with their campaign or autoresponder, ticked when picked. */
export function emailChecks(emails: readonly HostEmail[], picked: readonly string[]) {
  return emails.map((e) => ({
    value: e.emailId,
    label: e.name,
    detail: e.usedBy ? `${e.usedBy.kind === 'campaign' ? 'Campaign' : 'Autoresponder'}: ${e.usedBy.name}` : e.subject,
    checked: picked.includes(String(e.emailId)),
  }));
}

/** A Wait's amount, unit and send window; a Wait for event's timeout has the same fields. */
function waitFields(s: Record<string, unknown>) {
  const window = record(s.window);
  const days = Array.isArray(window.weekdays) ? window.weekdays.map(String) : null;
  return {
    amount: str(s.amount),
    units: options(
      WAIT_UNITS.map((u) => ({ value: u, label: u })),
      s.unit || 'days',
    ),
    notBefore: str(window.notBefore),
    notAfter: str(window.notAfter),
    windowSet: !!(window.notBefore || window.notAfter || days),
    weekdays: WEEKDAYS.map((label, value) => ({ value: String(value), label, checked: days === null || days.includes(String(value)) })),
  };
}

function waitForEventFields(action: DraftAction, ctx: PlannerContext) {
  const s = action.settings ?? {};
  const event = record(s.event);
  const target = event.emailIds;
  const sentBy = isRecord(target) ? str(target.sentBy) : '';
  const chosen = Array.isArray(target) ? target.map(String) : [];
  const senders = sendersBefore(ctx.tree, action.id).map((a) => ({ value: a.id, label: senderLabel(a, ctx) }));
  // A Send Email that does not run before this action (or no longer exists) stays selected, named as such, for the violation next to it.
  if (sentBy && !senders.some((o) => o.value === sentBy)) senders.push({ value: sentBy, label: `“${sentBy}”: not a Send Email before this action` });
  const link = record(event.link);
  const eventType = str(event.type) || 'email_opened';
  return {
    ...waitFields(record(s.timeout)),
    eventType,
    events: options(
      Object.entries(AWAITED_EVENT_LABELS).map(([value, label]) => ({ value, label })),
      eventType,
    ),
    targetAny: !sentBy && !Array.isArray(target),
    targetChosen: Array.isArray(target),
    targetSentBy: !!sentBy,
    emails: emailValues(ctx).map((e) => ({ ...e, checked: chosen.includes(e.value) })),
    senders: options(senders, sentBy || senders.at(-1)?.value),
    noSenders: senders.length === 0,
    linkMatchPattern: link.match === 'pattern',
    link: str(link.value),
    channel: str(event.channel),
    minValue: str(event.minValue),
  };
}

function splitFields(action: DraftAction) {
  const percents = Array.isArray(action.settings.percents) ? action.settings.percents : [];
  const count = Math.max(percents.length, draftBranches(action).length);
  const total = percents.reduce((sum: number, p) => sum + (Number.isFinite(Number(p)) ? Number(p) : 0), 0);
  return {
    paths: Array.from({ length: count }, (_, n) => ({ n, letter: pathLetter(n), percent: str(percents[n]), removable: count > 2 })),
    canAddPath: count < 5,
    total,
    totalOk: total === 100,
  };
}

function attributeValues(ctx: PlannerContext): { value: string; label: string; kind: string }[] {
  const host = SUBSCRIBER_ATTRIBUTES.map((a) => ({ value: a, label: ATTRIBUTE_LABELS[a], kind: attributeKind(a, ctx.fields) ?? 'text' }));
  const fields = ctx.fields.map((f) => ({
    value: `CustomField:${f.customFieldId}`,
    label: `Field: ${f.name}`,
    kind: attributeKind(`CustomField:${f.customFieldId}`, ctx.fields) ?? 'text',
  }));
  const activity = (['Opens', 'Clicks'] as const).map((a) => ({ value: a, label: ATTRIBUTE_LABELS[a], kind: 'activity' }));
  return [...host, ...fields, ...activity];
}

function ruleFields(rule: DraftRule, n: number, total: number, ctx: PlannerContext) {
  const attribute = str(rule.attribute) || 'EmailAddress';
  const kind = attributeKind(attribute, ctx.fields) ?? 'text';
  const emailIds = rule.emailIds;
  const pickedEmail = Array.isArray(emailIds) && emailIds.length > 0 ? String(emailIds[0]) : 'any';
  return {
    n,
    attributes: options(attributeValues(ctx), attribute),
    operators: options(
      operatorsFor(kind).map((op) => ({ value: op, label: OPERATOR_LABELS[op] })),
      rule.operator,
    ),
    value: str(rule.value),
    valueless: (VALUELESS_OPERATORS as readonly string[]).includes(str(rule.operator)),
    isActivity: isActivityAttribute(attribute),
    valueType: kind === 'number' || kind === 'activity' ? 'number' : 'text',
    valuePlaceholder: kind === 'date' ? 'YYYY-MM-DD' : kind === 'activity' ? 'times' : 'value',
    emails: options([{ value: 'any', label: 'any email' }, ...ctx.emails.map((e) => ({ value: String(e.emailId), label: e.name }))], pickedEmail),
    removable: total > 1,
  };
}
