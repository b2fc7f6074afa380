import { aContext } from '../../engine/engine.fixtures';
import { parseGoal } from '../../engine/goals';
import type { JourneyGoal } from '../../engine/journey.types';
import { EMPTY_GOAL_FORM, goalFormFromBody, goalFormFromGoal, goalFromForm } from './goal.form';

describe('goal form', () => {
  it('reads each kind of goal from the fields it shows, ignoring the fields of the other kinds', () => {
    const common = {
      goalEmailIds: ['5', '6'],
      goalChannel: 'shop',
      goalMinValue: '12.5',
      goalLinkMatch: 'pattern',
      goalLink: '*/buy*',
      goalField: '10',
      goalOperator: 'equals',
      goalValue: ' Paris ',
    };
    expect(goalFromForm(goalFormFromBody({ ...common, goalType: 'conversion' }))).toEqual({
      type: 'conversion',
      emailIds: [5, 6],
      channel: 'shop',
      minValue: 12.5,
    });
    expect(goalFromForm(goalFormFromBody({ ...common, goalType: 'link_clicked' }))).toEqual({
      type: 'link_clicked',
      emailIds: [5, 6],
      link: { match: 'pattern', value: '*/buy*' },
    });
    expect(goalFromForm(goalFormFromBody({ ...common, goalType: 'custom_field' }))).toEqual({
      type: 'custom_field',
      rule: { attribute: 'CustomField:10', operator: 'equals', value: ' Paris ' },
    });
    expect(goalFromForm(goalFormFromBody({ ...common, goalType: 'custom_field', goalOperator: 'is_set' }))).toEqual({
      type: 'custom_field',
      rule: { attribute: 'CustomField:10', operator: 'is_set' },
    });
  });

  it('reads no goal from "none", from an unknown kind and from a form without goal fields; "any" wins over ticked emails', () => {
    for (const body of [{ goalType: 'none' }, { goalType: 'revenue' }, {}]) expect(goalFromForm(goalFormFromBody(body))).toEqual({ type: 'none' });
    expect(goalFromForm(goalFormFromBody({ goalType: 'conversion', goalEmailIds: ['any', '5'] }))).toEqual({ type: 'conversion', emailIds: 'any' });
  });

  it('keeps what cannot be read as typed, for the validator to name', () => {
    const goal = goalFromForm(goalFormFromBody({ goalType: 'conversion', goalEmailIds: ['x'], goalMinValue: 'lots' }));
    expect(goal).toEqual({ type: 'conversion', emailIds: ['x'], minValue: 'lots' });
    expect(parseGoal(goal, aContext()).violations.map((v) => v.message)).toEqual([
      'Goal: Choose at least one email, or any email',
      'Goal: Minimum value must be a number ≥ 0',
    ]);
  });

  it('shows a saved goal in the form, and the form gives the same goal back', () => {
    const goals: JourneyGoal[] = [
      { type: 'conversion', emailIds: 'any', minValue: 20 },
      { type: 'conversion', emailIds: [5], channel: 'shop' },
      { type: 'link_clicked', emailIds: [6], link: { match: 'exact', value: 'https://x.example/a' } },
      { type: 'link_clicked', emailIds: 'any' },
      { type: 'custom_field', rule: { attribute: 'CustomField:10', operator: 'contains', value: 'VIP' } },
    ];
    for (const goal of goals) {
      const back = parseGoal(goalFromForm(goalFormFromGoal(goal)), aContext());
      expect(back).toEqual({ goal, violations: [] });
    }
    expect(goalFormFromGoal(null)).toEqual(EMPTY_GOAL_FORM);
  });
});
