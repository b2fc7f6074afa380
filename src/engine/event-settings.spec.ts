import { aContext, idSequence } from './engine.fixtures';
import { parseGoal } from './goals';
import { parseActions } from './validate-journey';

const parse = (actions: unknown) => parseActions(actions, aContext(), idSequence());
const codes = (actions: unknown) => parse(actions).violations.map((v) => [v.code, v.actionId]);

describe('Send Email, Wait for event and Random split settings', () => {
  it('reads a valid tree of all three back as given', () => {
    const tree = [
      { id: 's1', type: 'send_email', settings: { emailId: 5, whenUndeliverable: 'exit' } },
      {
        id: 'w1',
        type: 'wait_for_event',
        settings: {
          event: { type: 'link_clicked', emailIds: { sentBy: 's1' }, link: { match: 'pattern', value: '*buy*' } },
          timeout: { amount: 2, unit: 'days' },
        },
        yes: [
          {
            id: 'r1',
            type: 'random_split',
            settings: { percents: [70, 30] },
            paths: [[{ id: 'a', type: 'exit_this_journey', settings: {} }], []],
          },
        ],
        no: [],
      },
    ];
    expect(parse(tree)).toEqual({ actions: tree, violations: [] });
  });

  it('lists every problem of a split at once: percentages that do not add up to 100, one out of range, more paths than percentages', () => {
    const result = parse([{ id: 'r', type: 'random_split', settings: { percents: [60, 50, 0] }, paths: [[], [], [], []] }]);
    expect(result.violations.map((v) => v.message)).toEqual([
      'Path C: the percentage must be a whole number from 1 to 99',
      'The percentages add up to 110; they must add up to 100',
      'The split has 4 paths but 3 percentages',
    ]);
    expect(codes([{ id: 'r', type: 'random_split', settings: { percents: [100] } }])).toEqual([['invalid_split', 'r']]);
    expect(codes([{ id: 'r', type: 'random_split', settings: { percents: [20, 20, 20, 20, 10, 10] } }])).toEqual([['invalid_split', 'r']]);
  });

  it('refuses an email that is not the owner’s, an unknown "when undeliverable" choice, and a Wait for event without timeout', () => {
    expect(codes([{ id: 's', type: 'send_email', settings: { emailId: 99, whenUndeliverable: 'retry' } }])).toEqual([
      ['unknown_email', 's'],
      ['invalid_settings', 's'],
    ]);
    expect(codes([{ id: 'w', type: 'wait_for_event', settings: { event: { type: 'email_opened', emailIds: [5] } } }])).toEqual([['invalid_wait', 'w']]);
  });

  it('a Wait for event on a Send Email must name a Send Email action that runs before it', () => {
    const waitFor = (sentBy: string) => ({
      id: 'w',
      type: 'wait_for_event',
      settings: { event: { type: 'email_opened', emailIds: { sentBy } }, timeout: { amount: 1, unit: 'days' } },
    });
    expect(codes([{ id: 's', type: 'send_email', settings: { emailId: 5 } }, waitFor('s')])).toEqual([]);
    expect(codes([{ id: 'x', type: 'exit_all_other_journeys', settings: {} }, waitFor('x')])).toEqual([['unknown_action', 'w']]);
    expect(codes([waitFor('nope')])).toEqual([['unknown_action', 'w']]);
    // A Send Email in another branch does not run before it.
    const other = {
      id: 'c',
      type: 'condition',
      settings: { match: 'all', rules: [{ attribute: 'CustomField:10', operator: 'is_set' }] },
      yes: [{ id: 's', type: 'send_email', settings: { emailId: 5 } }],
      no: [waitFor('s')],
    };
    expect(codes([other])).toEqual([['unknown_action', 'w']]);
  });

  it('nothing may follow a branching action in its list', () => {
    expect(
      codes([
        { id: 'r', type: 'random_split', settings: { percents: [50, 50] } },
        { id: 'after', type: 'exit_this_journey', settings: {} },
      ]),
    ).toEqual([['unreachable_actions', 'r']]);
    expect(
      codes([
        { id: 'w', type: 'wait_for_event', settings: { event: { type: 'email_opened', emailIds: 'any' }, timeout: { amount: 1, unit: 'days' } } },
        { id: 'after', type: 'exit_this_journey', settings: {} },
      ]),
    ).toEqual([['unreachable_actions', 'w']]);
  });
});

describe(parseGoal.name, () => {
  it('reads each kind of goal; none is null', () => {
    expect(parseGoal({ type: 'conversion', emailIds: [5], channel: 'shop', minValue: '10' }, aContext())).toEqual({
      goal: { type: 'conversion', emailIds: [5], channel: 'shop', minValue: 10 },
      violations: [],
    });
    expect(parseGoal({ type: 'link_clicked', link: { match: 'pattern', value: '*buy*' } }, aContext()).goal).toEqual({
      type: 'link_clicked',
      emailIds: 'any',
      link: { match: 'pattern', value: '*buy*' },
    });
    expect(parseGoal({ type: 'custom_field', rule: { attribute: 'CustomField:10', operator: 'equals', value: 'customer' } }, aContext()).goal).toEqual({
      type: 'custom_field',
      rule: { attribute: 'CustomField:10', operator: 'equals', value: 'customer' },
    });
    expect(parseGoal(null, aContext())).toEqual({ goal: null, violations: [] });
    expect(parseGoal({ type: 'none' }, aContext())).toEqual({ goal: null, violations: [] });
  });

  it('names every problem: an unknown type, another user’s email, a negative value, a rule on something that is not a custom field', () => {
    expect(parseGoal({ type: 'revenue' }, aContext()).violations.map((v) => v.message)).toEqual([
      'Goal: type must be one of conversion, link_clicked, custom_field',
    ]);
    expect(parseGoal({ type: 'conversion', emailIds: [99], minValue: -1 }, aContext()).violations.map((v) => v.code)).toEqual([
      'unknown_email',
      'invalid_goal',
    ]);
    expect(parseGoal({ type: 'custom_field', rule: { attribute: 'EmailAddress', operator: 'contains', value: '@' } }, aContext()).violations).toEqual([
      { code: 'invalid_goal', actionId: null, message: 'Goal: the rule must be on one of your custom fields' },
    ]);
  });
});
