/**
 * The goal part of the Journey Information and Create Journey forms.
 * Fields: goalType (none, conversion, link_clicked, custom_field),
 * goalEmailIds[] ('any' or ids) for a conversion or a click, goalChannel +
 * goalMinValue (conversion), goalLinkMatch + goalLink (click), goalField +
 * goalOperator + goalValue (custom field condition). Parsing leaves
 * validation to the journeys service (JourneyValidation.checkGoal), which
 * names every problem at once.
 */
import { GOAL_TYPES, type IdSelection, type JourneyGoal } from '../../engine/journey.types';
import { customFieldIdOf } from '../../engine/conditions';
import { many, numeric, text, type FormBody } from './form-values';

export type GoalChoice = 'none' | (typeof GOAL_TYPES)[number];

export interface GoalFormValues {
  goalType: GoalChoice;
  goalEmailIds: string[];
  goalChannel: string;
  goalMinValue: string;
  goalLinkMatch: 'exact' | 'pattern';
  goalLink: string;
  /** A custom field id. */
  goalField: string;
  goalOperator: string;
  goalValue: string;
}

export const EMPTY_GOAL_FORM: GoalFormValues = {
  goalType: 'none',
  goalEmailIds: ['any'],
  goalChannel: '',
  goalMinValue: '',
  goalLinkMatch: 'exact',
  goalLink: '',
  goalField: '',
  goalOperator: 'equals',
  goalValue: '',
};

export function goalFormFromBody(body: FormBody): GoalFormValues {
  const type = text(body, 'goalType');
  return {
    goalType: (GOAL_TYPES as readonly string[]).includes(type) ? (type as GoalChoice) : 'none',
    goalEmailIds: many(body, 'goalEmailIds'),
    goalChannel: text(body, 'goalChannel'),
    goalMinValue: text(body, 'goalMinValue'),
    goalLinkMatch: text(body, 'goalLinkMatch') === 'pattern' ? 'pattern' : 'exact',
    goalLink: text(body, 'goalLink'),
    goalField: text(body, 'goalField'),
    goalOperator: text(body, 'goalOperator'),
    // Kept as typed (a value may mean its spaces), like a condition's value.
    goalValue: typeof body.goalValue === 'string' ? body.goalValue : '',
  };
}

export function goalFormFromGoal(goal: JourneyGoal | null): GoalFormValues {
  if (!goal) return EMPTY_GOAL_FORM;
  const ids = (selection: IdSelection) => (selection === 'any' ? ['any'] : selection.map(String));
  switch (goal.type) {
    case 'conversion':
      return {
        ...EMPTY_GOAL_FORM,
        goalType: goal.type,
        goalEmailIds: ids(goal.emailIds),
        goalChannel: goal.channel ?? '',
        goalMinValue: goal.minValue === undefined ? '' : String(goal.minValue),
      };
    case 'link_clicked':
      return {
        ...EMPTY_GOAL_FORM,
        goalType: goal.type,
        goalEmailIds: ids(goal.emailIds),
        goalLinkMatch: goal.link?.match ?? 'exact',
        goalLink: goal.link?.value ?? '',
      };
    case 'custom_field':
      return {
        ...EMPTY_GOAL_FORM,
        goalType: goal.type,
        goalField: String(customFieldIdOf(goal.rule.attribute) ?? ''),
        goalOperator: goal.rule.operator,
        goalValue: goal.rule.value ?? '',
      };
    default:
      return EMPTY_GOAL_FORM;
  }
}

/** The goal as the service takes it: `{ type: 'none' }` removes it (unknown: the service validates). */
export function goalFromForm(values: GoalFormValues): unknown {
  const emailIds = values.goalEmailIds.includes('any') ? 'any' : values.goalEmailIds.map(numeric);
  switch (values.goalType) {
    case 'conversion':
      return {
        type: 'conversion',
        emailIds,
        ...(values.goalChannel ? { channel: values.goalChannel } : {}),
        ...(values.goalMinValue ? { minValue: numeric(values.goalMinValue) } : {}),
      };
    case 'link_clicked':
      return { type: 'link_clicked', emailIds, ...(values.goalLink ? { link: { match: values.goalLinkMatch, value: values.goalLink } } : {}) };
    case 'custom_field':
      return {
        type: 'custom_field',
        rule: {
          attribute: values.goalField ? `CustomField:${values.goalField}` : '',
          operator: values.goalOperator,
          ...(values.goalOperator === 'is_set' || values.goalOperator === 'is_not_set' ? {} : { value: values.goalValue }),
        },
      };
    default:
      return { type: 'none' };
  }
}
