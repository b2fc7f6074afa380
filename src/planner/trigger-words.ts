/**
 * A trigger in words, as the journey list shows it:
 * "When someone subscribes to Newsletter"; and a goal in words, as the
 * planner shows it: "A conversion from Welcome worth at least 20". Plain
 * text; the views escape it.
 */
import { customFieldIdOf } from '../engine/conditions';
import { assertNever, type IdSelection, type JourneyGoal, type RuleOperator, type Trigger } from '../engine/journey.types';
import { OPERATOR_LABELS } from './action-fields';

export interface TriggerNames {
  lists: ReadonlyMap<number, string>;
  emails: ReadonlyMap<number, string>;
  /** Custom field names (a goal on a custom field). */
  fields?: ReadonlyMap<number, string>;
}

export function describeTrigger(trigger: Trigger, names: TriggerNames): string {
  switch (trigger.type) {
    case 'subscription':
      return `When someone subscribes to ${selection(trigger.listIds, names.lists, 'any list', 'list')}`;
    case 'unsubscription':
      return `When someone unsubscribes from ${selection(trigger.listIds, names.lists, 'any list', 'list')}`;
    case 'email_opened':
      return `When someone opens ${selection(trigger.emailIds, names.emails, 'any email', 'email')}`;
    case 'link_clicked': {
      const link = trigger.link?.value ? (trigger.link.match === 'pattern' ? `a link matching ${trigger.link.value}` : trigger.link.value) : 'a link';
      return `When someone clicks ${link} in ${selection(trigger.emailIds, names.emails, 'any email', 'email')}`;
    }
    case 'conversion':
      return `When someone ${conversionWords(trigger, names)}`;
    case 'manual':
      return 'Started manually (by a Start Journey action or the API)';
    default:
      return assertNever(trigger, 'trigger');
  }
}

function conversionWords(event: { emailIds: IdSelection; channel?: string; minValue?: number }, names: TriggerNames): string {
  const parts = [`converts from ${selection(event.emailIds, names.emails, 'any email', 'email')}`];
  if (event.channel) parts.push(`on channel ${event.channel}`);
  if (event.minValue !== undefined && event.minValue !== null) parts.push(`worth at least ${event.minValue}`);
  return parts.join(' ');
}

/** What meets the goal, e.g. "Someone converts from Welcome worth at least 20", "City equals “Paris”". */
export function describeGoal(goal: JourneyGoal, names: TriggerNames): string {
  switch (goal.type) {
    case 'conversion':
      return `The subscriber ${conversionWords(goal, names)}`;
    case 'link_clicked':
      return describeTrigger(goal, names).replace('When someone', 'The subscriber');
    case 'custom_field': {
      const fieldId = customFieldIdOf(goal.rule.attribute);
      const field = fieldId === null ? goal.rule.attribute : (names.fields?.get(fieldId) ?? `custom field #${fieldId} (not found)`);
      const operator = OPERATOR_LABELS[goal.rule.operator as RuleOperator] ?? goal.rule.operator;
      return [field, operator, goal.rule.value === undefined ? '' : `“${goal.rule.value}”`].filter(Boolean).join(' ');
    }
    default:
      return assertNever(goal, 'goal');
  }
}

function selection(ids: IdSelection | undefined, names: ReadonlyMap<number, string>, anyText: string, noun: string): string {
  if (ids === undefined || ids === 'any') return anyText;
  const named = ids.map((id) => names.get(id) ?? `${noun} #${id} (not found)`);
  if (named.length === 0) return `no ${noun}`;
  if (named.length === 1) return named[0];
  return `${named.slice(0, -1).join(', ')} or ${named[named.length - 1]}`;
}
