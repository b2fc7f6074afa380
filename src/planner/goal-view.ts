/**
 * The goal fields of the Journey Information and Create Journey pages
 * (views/partials/goal-fields.hbs), with the owner's emails and custom fields
 * and the choices pre-selected. Only the chosen goal's fields show with the
 * page's script; without it every field is there and the unused ones are ignored.
 */
import { attributeKind, operatorsFor, VALUELESS_OPERATORS } from '../engine/conditions';
import type { HostCustomField, HostEmail } from '../host/host.ports';
import { emailChecks, OPERATOR_LABELS, options } from './action-fields';
import type { GoalChoice, GoalFormValues } from './forms/goal.form';

const GOAL_CHOICES: { value: GoalChoice; label: string; hint: string }[] = [
  { value: 'none', label: 'No goal', hint: 'Subscribers go through every action' },
  { value: 'conversion', label: 'A conversion', hint: 'A conversion postback for one of your emails' },
  { value: 'link_clicked', label: 'A click', hint: 'A click on a link in one of your emails' },
  { value: 'custom_field', label: 'A custom field value', hint: 'One of your custom fields meets a condition' },
];

export function goalFields(values: GoalFormValues, emails: readonly HostEmail[], fields: readonly HostCustomField[]) {
  const kind = attributeKind(`CustomField:${values.goalField}`, fields) ?? 'text';
  return {
    goalTypes: GOAL_CHOICES.map((c) => ({ ...c, checked: c.value === values.goalType })),
    goalAnyEmail: values.goalEmailIds.includes('any'),
    goalEmails: emailChecks(emails, values.goalEmailIds),
    goalChannel: values.goalChannel,
    goalMinValue: values.goalMinValue,
    goalLinkPattern: values.goalLinkMatch === 'pattern',
    goalLink: values.goalLink,
    goalFieldOptions: options(
      fields.map((f) => ({
        value: String(f.customFieldId),
        label: f.name,
        kind: attributeKind(`CustomField:${f.customFieldId}`, fields) ?? 'text',
      })),
      values.goalField,
      'Choose a field…',
    ),
    goalOperators: options(
      operatorsFor(kind).map((op) => ({ value: op, label: OPERATOR_LABELS[op] })),
      values.goalOperator,
    ),
    goalValue: values.goalValue,
    goalValueless: (VALUELESS_OPERATORS as readonly string[]).includes(values.goalOperator),
  };
}
