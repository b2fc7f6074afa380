/**
 * The Action Planner as a view model: the draft tree turned into cards with
 * their settings fields (options pre-selected), counts and violations, ready
 * for views/partials/action-*.hbs. Pure: everything it shows comes in.
 */
import { attributeKind, customFieldIdOf, isActivityAttribute, operatorsFor, VALUELESS_OPERATORS, type AttributeKind } from '../engine/conditions';
import { SUBSCRIBER_ATTRIBUTES, WAIT_UNITS, WEBHOOK_METHODS, type RuleOperator } from '../engine/journey.types';
import type { HostCustomField, HostEmail, HostList } from '../host/host.ports';
import type { ActionCount } from '../journeys/journey.dto';
import { ACTION_REGISTRY, isActionType } from '../engine/action-registry';
import { ACTION_CATALOG, actionTypeInfo } from './action-catalog';
import { headersToText, type DraftAction, type DraftRule } from './forms/actions.form';

export interface PlannerContext {
  lists: readonly HostList[];
  fields: readonly HostCustomField[];
  emails: readonly HostEmail[];
  /** The owner's other journeys (targets of Start / Exit Journey). */
  journeys: readonly { journeyId: number; name: string }[];
  counts: Readonly<Record<string, ActionCount>>;
  /** Violation messages by ActionID. */
  violations: ReadonlyMap<string, string[]>;
}

export interface Option {
  value: string;
  label: string;
  selected: boolean;
  kind?: string;
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

const ATTRIBUTE_LABELS: Record<string, string> = {
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

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const ALL_KINDS: AttributeKind[] = ['text', 'number', 'date', 'enum', 'activity'];

/** Operators per attribute kind, for planner.js to narrow the operator list when the attribute changes. */
export function operatorsByKind(): Record<string, [string, string][]> {
  return Object.fromEntries(ALL_KINDS.map((kind) => [kind, operatorsFor(kind).map((op) => [op, OPERATOR_LABELS[op]] as [string, string])]));
}

export function paletteGroups(): { group: string; types: { type: string; label: string; hint: string }[] }[] {
  const groups = new Map<string, { type: string; label: string; hint: string }[]>();
  for (const info of ACTION_CATALOG) groups.set(info.group, [...(groups.get(info.group) ?? []), { type: info.type, label: info.label, hint: info.hint }]);
  return [...groups].map(([group, types]) => ({ group, types }));
}

export interface PlannerBranch {
  slot: string;
  label: string;
  nodes: PlannerNode[];
}

export interface PlannerNode {
  id: string;
  type: string;
  label: string;
  summary: string;
  counts: ActionCount;
  violations: string[];
  first: boolean;
  last: boolean;
  is: Record<string, boolean>;
  isCondition: boolean;
  yes: PlannerBranch | null;
  no: PlannerBranch | null;
  f: Record<string, unknown>;
  /**
   * Slot of the "Add action" menu below this action; none below a Yes/No,
   * since a branch that runs out ends the journey and actions there would never run.
   */
  afterSlot: string | null;
  /** Partial that renders the settings fields (views/partials/settings/<type>.hbs). */
  settingsPartial: string;
}

export function plannerNodes(tree: readonly DraftAction[], ctx: PlannerContext): PlannerNode[] {
  return tree.map((action, index) => node(action, ctx, index === 0, index === tree.length - 1));
}

function node(action: DraftAction, ctx: PlannerContext, first: boolean, last: boolean): PlannerNode {
  const info = actionTypeInfo(action.type);
  const s = action.settings ?? {};
  const count = ctx.counts[action.id];
  const isCondition = action.type === 'condition';
  return {
    id: action.id,
    type: action.type,
    label: info?.label ?? `Unknown action (${action.type})`,
    summary: summaryOf(action, ctx),
    counts: { current: count?.current ?? 0, passed: count?.passed ?? 0, failed: count?.failed ?? 0, retrying: count?.retrying ?? 0 },
    violations: ctx.violations.get(action.id) ?? [],
    first,
    last,
    is: { [action.type]: true },
    isCondition,
    yes: isCondition ? { slot: `yes.${action.id}`, label: 'Yes', nodes: plannerNodes(action.yes ?? [], ctx) } : null,
    no: isCondition ? { slot: `no.${action.id}`, label: 'No', nodes: plannerNodes(action.no ?? [], ctx) } : null,
    f: fieldsOf(action, s, ctx),
    afterSlot: isCondition ? null : `after.${action.id}`,
    settingsPartial: info && isActionType(action.type) ? ACTION_REGISTRY[action.type].settingsPartial : 'settings/none',
  };
}

function str(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

function options(values: readonly { value: string; label: string; kind?: string }[], selected: unknown, placeholder?: string): Option[] {
  const picked = str(selected);
  const out: Option[] = values.map((v) => ({ ...v, selected: v.value === picked }));
  if (placeholder) out.unshift({ value: '', label: placeholder, selected: picked === '' });
  return out;
}

function fieldsOf(action: DraftAction, s: Record<string, unknown>, ctx: PlannerContext) {
  const listValues = ctx.lists.map((l) => ({ value: String(l.listId), label: l.name }));
  switch (action.type) {
    case 'wait': {
      const window = (s.window ?? {}) as Record<string, unknown>;
      const days = Array.isArray(window.weekdays) ? window.weekdays.map(String) : null;
      return {
        amount: str(s.amount),
        units: options(
          WAIT_UNITS.map((u) => ({ value: u, label: u })),
          s.unit || 'days',
        ),
        notBefore: str(window.notBefore),
        notAfter: str(window.notAfter),
        weekdays: WEEKDAYS.map((label, value) => ({ value: String(value), label, checked: days === null || days.includes(String(value)) })),
      };
    }
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
    default:
      return {};
  }
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

function nameOf<T>(items: readonly T[], id: unknown, key: keyof T, name: keyof T, noun: string): string {
  const found = items.find((item) => String(item[key]) === str(id));
  return found ? String(found[name]) : id === undefined || id === '' ? `no ${noun} chosen` : `${noun} #${str(id)}`;
}

function summaryOf(action: DraftAction, ctx: PlannerContext): string {
  const s = action.settings ?? {};
  switch (action.type) {
    case 'wait': {
      const amount = Number(s.amount);
      const unit = str(s.unit) || 'days';
      const text = `Wait ${str(s.amount) || '?'} ${amount === 1 ? unit.replace(/s$/, '') : unit}`;
      const window = (s.window ?? {}) as Record<string, unknown>;
      const parts = [window.notBefore && `not before ${str(window.notBefore)}`, window.notAfter && `not after ${str(window.notAfter)}`].filter(Boolean);
      if (Array.isArray(window.weekdays) && window.weekdays.length) parts.push(`on ${window.weekdays.map((d) => WEEKDAYS[Number(d)] ?? '?').join(', ')}`);
      return parts.length ? `${text}, then send ${parts.join(', ')}` : text;
    }
    case 'condition': {
      const rules = Array.isArray(s.rules) ? (s.rules as DraftRule[]) : [];
      const described = rules.map((r) => {
        const fieldId = customFieldIdOf(str(r.attribute));
        const attribute =
          fieldId !== null ? nameOf(ctx.fields, fieldId, 'customFieldId', 'name', 'field') : (ATTRIBUTE_LABELS[str(r.attribute)] ?? str(r.attribute));
        const operator = OPERATOR_LABELS[r.operator as RuleOperator] ?? str(r.operator);
        return [attribute, operator, r.value === undefined ? '' : `“${str(r.value)}”`].filter(Boolean).join(' ');
      });
      return described.length ? `If ${described.join(s.match === 'any' ? ' or ' : ' and ')}` : 'No rules yet';
    }
    case 'start_journey':
      return `Start “${nameOf(ctx.journeys, s.journeyId, 'journeyId', 'name', 'journey')}”`;
    case 'exit_journey': {
      const ids = Array.isArray(s.journeyIds) ? s.journeyIds : [];
      return ids.length ? `Exit ${ids.map((id) => `“${nameOf(ctx.journeys, id, 'journeyId', 'name', 'journey')}”`).join(', ')}` : 'No journeys chosen';
    }
    case 'exit_this_journey':
      return 'The subscriber leaves this journey here';
    case 'exit_all_other_journeys':
      return 'The subscriber leaves every other journey';
    case 'subscribe':
      return `Subscribe to ${nameOf(ctx.lists, s.listId, 'listId', 'name', 'list')}`;
    case 'unsubscribe':
      return `Unsubscribe from ${nameOf(ctx.lists, s.listId, 'listId', 'name', 'list')}`;
    case 'update_custom_field':
      return `Set ${nameOf(ctx.fields, s.fieldId, 'customFieldId', 'name', 'field')} to “${str(s.value)}”`;
    case 'webhook':
      return `${str(s.method) || 'POST'} ${str(s.url) || '(no URL yet)'}`;
    default:
      return '';
  }
}
