import fc from 'fast-check';
import { act, aContext, idSequence } from './engine.fixtures';
import { ACTION_TYPES, type Action } from './journey.types';
import { findStartJourneyCycles, MAX_ACTIONS, parseActions, startJourneyCycleViolations, validateTrigger } from './validate-journey';

const ctx = aContext();
const parse = (input: unknown, context = ctx) => parseActions(input, context, idSequence());
const codes = (input: unknown, context = ctx) => parse(input, context).violations.map((v) => v.code);

describe(parseActions.name, () => {
  describe('a valid tree', () => {
    const input = [
      { id: 'w1', type: 'wait', settings: { amount: '3', unit: 'day', window: { notBefore: '9:00', notAfter: '17:30', weekdays: ['1', 2, 2] } } },
      {
        id: 'c1',
        type: 'condition',
        settings: {
          match: 'ANY',
          rules: [
            { attribute: 'CustomField8', operator: 'greater than', value: 10 },
            { attribute: 'Opens', operator: 'at_least', value: '1', emailIds: ['5'] },
            { attribute: 'OptInDate', operator: 'is_set', value: 'ignored' },
          ],
        },
        yes: [
          { type: 'subscribe', settings: { listId: '2' } },
          { type: 'update_custom_field', settings: { fieldId: 10, value: '%Subscriber:EmailAddress%' } },
          { type: 'webhook', settings: { url: 'https://hooks.example.com/x', method: 'put', headers: { 'X-Token': 'abc' }, includeCustomFields: 'false' } },
        ],
        no: [
          { type: 'start_journey', settings: { journeyId: 200 } },
          { type: 'exit_journey', settings: { journeyIds: [300, '300'] } },
          { type: 'exit_this_journey' },
        ],
      },
    ];

    it('has no violations', () => {
      expect(parse(input).violations).toEqual([]);
    });

    it('coerces form values and normalises them', () => {
      const [wait, condition] = parse(input).actions;
      expect(wait).toEqual({
        id: 'w1',
        type: 'wait',
        settings: { amount: 3, unit: 'days', window: { notBefore: '09:00', notAfter: '17:30', weekdays: [1, 2] } },
      });
      expect(condition).toMatchObject({
        settings: {
          match: 'any',
          rules: [
            { attribute: 'CustomField:8', operator: 'greater_than', value: '10' },
            { attribute: 'Opens', operator: 'at_least', value: '1', emailIds: [5] },
            { attribute: 'OptInDate', operator: 'is_set' },
          ],
        },
      });
      expect(condition.type === 'condition' && condition.settings.rules[2]).not.toHaveProperty('value');
    });

    it('gives ids to actions without one', () => {
      const [, condition] = parse(input).actions;
      expect(condition.type === 'condition' && condition.yes.map((a) => a.id)).toEqual(['new-1', 'new-2', 'new-3']);
    });

    it('keeps only the known keys', () => {
      const { actions } = parse([{ id: 'a', type: 'subscribe', settings: { listId: 1, evil: true }, extra: 1 }]);
      expect(actions).toEqual([{ id: 'a', type: 'subscribe', settings: { listId: 1 } }]);
    });

    it('reads the webhook settings', () => {
      const [, condition] = parse(input).actions;
      const webhook = condition.type === 'condition' ? condition.yes[2] : undefined;
      expect(webhook).toMatchObject({
        settings: { url: 'https://hooks.example.com/x', method: 'PUT', headers: { 'X-Token': 'abc' }, includeCustomFields: false },
      });
    });
  });

  describe('reports every violation at once', () => {
    it('collects problems of several actions in one pass, each naming its action', () => {
      const { violations } = parse([
        { id: 'a1', type: 'teleport' },
        { id: 'a2', type: 'wait', settings: { amount: 0, unit: 'weeks' } },
        { id: 'a3', type: 'subscribe', settings: { listId: 99 } },
        { id: 'a4', type: 'update_custom_field', settings: { fieldId: 77, value: 'x' } },
        { id: 'a5', type: 'start_journey', settings: { journeyId: 999 } },
      ]);
      expect(violations).toEqual([
        { code: 'unknown_type', actionId: 'a1', message: 'Unknown action type "teleport"' },
        { code: 'invalid_wait', actionId: 'a2', message: 'Wait amount must be a whole number ≥ 1' },
        { code: 'invalid_wait', actionId: 'a2', message: 'Wait unit must be one of seconds, minutes, hours, days' },
        { code: 'unknown_list', actionId: 'a3', message: 'List 99 is not one of your lists' },
        { code: 'unknown_custom_field', actionId: 'a4', message: 'Custom field 77 is not one of yours' },
        { code: 'unknown_journey', actionId: 'a5', message: 'Journey 999 is not one of your journeys' },
      ]);
    });

    it('refuses input that is not a list', () => {
      expect(parse({ actions: [] })).toEqual({ actions: [], violations: [{ code: 'not_a_list', actionId: null, message: 'Actions must be a list' }] });
    });

    it('refuses an item that is not an object', () => {
      expect(codes([42])).toEqual(['not_an_object']);
    });

    it('refuses settings that are not an object', () => {
      expect(codes([{ type: 'exit_this_journey', settings: 'x' }])).toEqual(['invalid_settings']);
    });
  });

  describe('ids', () => {
    it('refuses a duplicate id, even across branches', () => {
      const { violations } = parse([
        { id: 'x', type: 'condition', settings: { rules: [{ attribute: 'EmailAddress', operator: 'is_set' }] }, yes: [{ id: 'x', type: 'exit_this_journey' }] },
      ]);
      expect(violations).toEqual([{ code: 'duplicate_id', actionId: 'x', message: 'Action id "x" is used by more than one action' }]);
    });

    it('refuses a malformed id and gives the action a fresh one', () => {
      const { actions, violations } = parse([{ id: 'bad id!', type: 'exit_this_journey' }]);
      expect(violations).toEqual([{ code: 'invalid_id', actionId: 'new-1', message: expect.any(String) }]);
      expect(actions[0].id).toBe('new-1');
    });

    it('never hands out an id the input already uses further on', () => {
      const { actions, violations } = parse([{ type: 'exit_all_other_journeys' }, { id: 'new-1', type: 'exit_this_journey' }]);
      expect(violations).toEqual([]);
      expect(actions.map((a) => a.id)).toEqual(['new-2', 'new-1']);
    });
  });

  describe('tree shape', () => {
    it('refuses actions after a condition in the same list', () => {
      const { violations } = parse([
        { id: 'c1', type: 'condition', settings: { rules: [{ attribute: 'EmailAddress', operator: 'is_set' }] } },
        { id: 'a2', type: 'exit_this_journey' },
        { id: 'a3', type: 'exit_this_journey' },
      ]);
      expect(violations).toEqual([
        { code: 'unreachable_actions', actionId: 'c1', message: '2 actions after this Yes/No condition would never run; move them into its Yes or No branch' },
      ]);
    });

    it('refuses a branch that is not a list', () => {
      expect(codes([{ id: 'c1', type: 'condition', settings: { rules: [{ attribute: 'EmailAddress', operator: 'is_set' }] }, yes: 'no' }])).toEqual([
        'not_a_list',
      ]);
    });

    it('refuses more than MAX_ACTIONS actions', () => {
      const many = Array.from({ length: MAX_ACTIONS + 5 }, () => ({ type: 'exit_all_other_journeys' }));
      const { actions, violations } = parse(many);
      expect(actions).toHaveLength(MAX_ACTIONS);
      expect(violations.map((v) => v.code)).toEqual(['too_many_actions']);
    });

    it('refuses branches nested too deep without overflowing the stack', () => {
      let nested: unknown[] = [];
      for (let depth = 0; depth < 5000; depth++)
        nested = [{ type: 'condition', settings: { rules: [{ attribute: 'EmailAddress', operator: 'is_set' }] }, yes: nested }];
      expect(codes(nested)).toContain('too_deep');
    });
  });

  describe('wait', () => {
    it('refuses fractions, text and waits over the maximum', () => {
      expect(codes([{ type: 'wait', settings: { amount: 1.5, unit: 'hours' } }])).toEqual(['invalid_wait']);
      expect(codes([{ type: 'wait', settings: { amount: 'soon', unit: 'hours' } }])).toEqual(['invalid_wait']);
      expect(codes([{ type: 'wait', settings: { amount: 3651, unit: 'days' } }])).toEqual(['invalid_wait']);
      expect(codes([{ type: 'wait', settings: {} }])).toEqual(['invalid_wait', 'invalid_wait']);
    });

    it('refuses bad window times and weekdays, naming them', () => {
      const { violations } = parse([
        { id: 'w', type: 'wait', settings: { amount: 1, unit: 'days', window: { notBefore: '25:00', notAfter: '9pm', weekdays: [7] } } },
      ]);
      expect(violations.map((v) => v.message)).toEqual([
        'Send window "not before" must be a time HH:MM between 00:00 and 23:59',
        'Send window "not after" must be a time HH:MM between 00:00 and 23:59',
        'Send window weekdays must be a list of days 0 (Sunday) to 6 (Saturday)',
      ]);
    });

    it('refuses an empty weekday list, and drops an empty window', () => {
      expect(codes([{ type: 'wait', settings: { amount: 1, unit: 'days', window: { weekdays: [] } } }])).toEqual(['invalid_send_window']);
      expect(parse([{ id: 'w', type: 'wait', settings: { amount: 1, unit: 'days', window: { notBefore: '' } } }]).actions[0].settings).toEqual({
        amount: 1,
        unit: 'days',
      });
    });

    it('accepts an overnight window', () => {
      expect(codes([{ type: 'wait', settings: { amount: 1, unit: 'days', window: { notBefore: '22:00', notAfter: '06:00' } } }])).toEqual([]);
    });
  });

  describe('condition', () => {
    const condition = (rules: unknown, match?: unknown) => [{ id: 'c', type: 'condition', settings: { match, rules } }];

    it('refuses a condition without rules', () => {
      expect(parse(condition([])).violations).toEqual([{ code: 'empty_rules', actionId: 'c', message: 'A Yes/No condition needs at least one rule' }]);
      expect(codes([{ type: 'condition' }])).toEqual(['empty_rules']);
    });

    it('refuses an operator the attribute kind does not accept, listing the ones it does', () => {
      const { violations } = parse(condition([{ attribute: 'SubscriptionDate', operator: 'contains', value: 'x' }]));
      expect(violations).toEqual([
        {
          code: 'operator_not_allowed',
          actionId: 'c',
          message: 'Rule 1: "contains" cannot be used with SubscriptionDate (date); use one of before, after, is_set, is_not_set',
        },
      ]);
    });

    it('refuses unknown attributes, operators and another user’s field', () => {
      expect(codes(condition([{ attribute: 'Shoe size', operator: 'equals', value: '1' }]))).toEqual(['unknown_attribute']);
      expect(codes(condition([{ attribute: 'EmailAddress', operator: 'sounds_like', value: '1' }]))).toEqual(['unknown_operator']);
      expect(codes(condition([{ attribute: 'CustomField:99', operator: 'equals', value: '1' }]))).toEqual(['unknown_custom_field']);
    });

    it('refuses values that do not fit the attribute', () => {
      expect(codes(condition([{ attribute: 'CustomField:8', operator: 'greater_than', value: 'ten' }]))).toEqual(['invalid_rule_value']);
      expect(codes(condition([{ attribute: 'SubscriptionDate', operator: 'before', value: 'yesterday' }]))).toEqual(['invalid_rule_value']);
      expect(codes(condition([{ attribute: 'EmailAddress', operator: 'contains' }]))).toEqual(['invalid_rule_value']);
      expect(codes(condition([{ attribute: 'SubscriptionStatus', operator: 'equals', value: 'Maybe' }]))).toEqual(['invalid_rule_value']);
    });

    it('refuses activity of emails the owner does not have', () => {
      expect(codes(condition([{ attribute: 'Clicks', operator: 'at_least', value: '1', emailIds: [5, 77] }]))).toEqual(['unknown_email']);
    });

    it('defaults activity to any email and match to all', () => {
      const { actions } = parse(condition([{ attribute: 'Clicks', operator: 'at_least', value: 2 }]));
      expect(actions[0].settings).toEqual({ match: 'all', rules: [{ attribute: 'Clicks', operator: 'at_least', value: '2', emailIds: 'any' }] });
    });

    it('refuses a match other than all or any', () => {
      expect(codes(condition([{ attribute: 'EmailAddress', operator: 'is_set' }], 'most'))).toEqual(['invalid_settings']);
    });

    it('reports each bad rule with its position', () => {
      const { violations } = parse(condition([{ attribute: 'EmailAddress', operator: 'is_set' }, 'nope']));
      expect(violations[0].message).toMatch(/^Rule 2/);
    });
  });

  describe('journeys', () => {
    it('refuses a Start Journey that targets the journey it is in', () => {
      expect(parse([{ id: 's', type: 'start_journey', settings: { journeyId: 100 } }]).violations).toEqual([
        { code: 'start_journey_self', actionId: 's', message: 'Start Journey cannot start the journey it is in' },
      ]);
    });

    it('refuses a dangling or missing target', () => {
      expect(codes([{ type: 'start_journey', settings: { journeyId: 12345 } }])).toEqual(['unknown_journey']);
      expect(codes([{ type: 'start_journey', settings: {} }])).toEqual(['invalid_settings']);
      expect(codes([{ type: 'exit_journey', settings: { journeyIds: [] } }])).toEqual(['invalid_settings']);
      expect(codes([{ type: 'exit_journey', settings: { journeyIds: [200, 4040] } }])).toEqual(['unknown_journey']);
    });
  });

  describe('update custom field', () => {
    it('accepts an empty value (clears the field) and refuses a missing one', () => {
      expect(codes([{ type: 'update_custom_field', settings: { fieldId: 10, value: '' } }])).toEqual([]);
      expect(codes([{ type: 'update_custom_field', settings: { fieldId: 10 } }])).toEqual(['invalid_settings']);
    });

    it('refuses unknown merge tags and tags of another user’s field', () => {
      expect(codes([{ type: 'update_custom_field', settings: { fieldId: 10, value: '%Subscriber:Nick% %Subscriber:CustomField99%' } }])).toEqual([
        'unknown_merge_tag',
        'unknown_custom_field',
      ]);
    });
  });

  describe('webhook', () => {
    const webhook = (settings: unknown) => [{ type: 'webhook', settings }];

    it('refuses http unless the context allows it', () => {
      expect(codes(webhook({ url: 'http://hooks.example.com' }))).toEqual(['insecure_webhook_url']);
      expect(codes(webhook({ url: 'http://localhost:8080/in' }), aContext({ allowHttp: true }))).toEqual([]);
    });

    it('refuses malformed URLs, other schemes and credentials', () => {
      expect(codes(webhook({ url: 'not a url' }))).toEqual(['invalid_webhook_url']);
      expect(codes(webhook({ url: 'ftp://example.com' }))).toEqual(['invalid_webhook_url']);
      expect(codes(webhook({ url: 'https://user:pw@example.com' }))).toEqual(['invalid_webhook_url']);
      expect(codes(webhook({}))).toEqual(['invalid_webhook_url']);
    });

    it('refuses bad methods and headers that would override the signature', () => {
      expect(codes(webhook({ url: 'https://e.example', method: 'TRACE' }))).toEqual(['invalid_settings']);
      expect(codes(webhook({ url: 'https://e.example', headers: { 'webhook-signature': 'x', 'Bad Name': 'y', 'X-Ok': 'a\r\nb' } }))).toEqual([
        'invalid_webhook_header',
        'invalid_webhook_header',
        'invalid_webhook_header',
      ]);
    });

    it('defaults the method to POST', () => {
      expect(parse(webhook({ url: 'https://e.example' })).actions[0].settings).toEqual({ url: 'https://e.example', method: 'POST' });
    });
  });

  describe('(properties)', () => {
    const actionLike = fc.record(
      {
        id: fc.oneof(fc.string(), fc.integer(), fc.constant(undefined)),
        type: fc.oneof(fc.constantFrom(...ACTION_TYPES), fc.string()),
        settings: fc.oneof(
          fc.jsonValue(),
          fc.dictionary(
            fc.constantFrom(
              'amount',
              'unit',
              'window',
              'rules',
              'match',
              'journeyId',
              'journeyIds',
              'listId',
              'fieldId',
              'value',
              'url',
              'method',
              'headers',
              'includeCustomFields',
            ),
            fc.jsonValue(),
          ),
        ),
        yes: fc.jsonValue(),
        no: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );

    it('never throws on arbitrary JSON', () => {
      fc.assert(
        fc.property(fc.oneof(fc.jsonValue(), fc.array(actionLike)), (input) => {
          const result = parse(input);
          expect(Array.isArray(result.actions)).toBe(true);
          expect(Array.isArray(result.violations)).toBe(true);
        }),
        { numRuns: 500 },
      );
    });

    it('what it accepts without violations parses again to the same tree', () => {
      fc.assert(
        fc.property(fc.array(actionLike), (input) => {
          const first = parse(input);
          if (first.violations.length > 0) return;
          const again = parse(JSON.parse(JSON.stringify(first.actions)));
          expect(again).toEqual({ actions: first.actions, violations: [] });
        }),
        { numRuns: 500 },
      );
    });
  });
});

describe(validateTrigger.name, () => {
  it('accepts each trigger type with its settings', () => {
    expect(validateTrigger({ type: 'subscription', listIds: ['1', 2] }, ctx)).toEqual({ trigger: { type: 'subscription', listIds: [1, 2] }, violations: [] });
    expect(validateTrigger({ type: 'unsubscription', listIds: 'any' }, ctx).trigger).toEqual({ type: 'unsubscription', listIds: 'any' });
    expect(validateTrigger({ type: 'email_opened', emailIds: [5] }, ctx).trigger).toEqual({ type: 'email_opened', emailIds: [5] });
    expect(validateTrigger({ type: 'conversion', emailIds: 'ANY', channel: ' paid ', minValue: '9.5' }, ctx).trigger).toEqual({
      type: 'conversion',
      emailIds: 'any',
      channel: 'paid',
      minValue: 9.5,
    });
    expect(validateTrigger({ type: 'link_clicked', emailIds: [6], link: { match: 'pattern', value: 'https://shop.example/*' } }, ctx).trigger).toEqual({
      type: 'link_clicked',
      emailIds: [6],
      link: { match: 'pattern', value: 'https://shop.example/*' },
    });
    expect(validateTrigger({ type: 'manual', listIds: [1] }, ctx).trigger).toEqual({ type: 'manual' });
  });

  it('refuses lists and emails of another user', () => {
    expect(validateTrigger({ type: 'subscription', listIds: [1, 99] }, ctx)).toEqual({
      violations: [{ code: 'unknown_list', actionId: null, message: 'List 99 is not one of yours' }],
    });
    expect(validateTrigger({ type: 'email_opened', emailIds: [77] }, ctx).violations.map((v) => v.code)).toEqual(['unknown_email']);
  });

  it('refuses a missing selection, an unknown type and a non-object', () => {
    expect(validateTrigger({ type: 'subscription', listIds: [] }, ctx).violations[0].message).toBe('Choose at least one list, or any list');
    expect(validateTrigger({ type: 'birthday' }, ctx).violations.map((v) => v.code)).toEqual(['unknown_trigger_type']);
    expect(validateTrigger(null, ctx).violations.map((v) => v.code)).toEqual(['invalid_trigger']);
  });

  it('lists every problem of a conversion or link trigger', () => {
    expect(validateTrigger({ type: 'conversion', emailIds: [], minValue: -1 }, ctx).violations).toHaveLength(2);
    expect(validateTrigger({ type: 'link_clicked', emailIds: 'any', link: { match: 'regex', value: '' } }, ctx).violations).toHaveLength(2);
  });

  it('never throws on arbitrary JSON', () => {
    fc.assert(fc.property(fc.jsonValue(), (input) => void validateTrigger(input, ctx)));
  });
});

describe(findStartJourneyCycles.name, () => {
  it('finds a chain of Start Journey actions back to this journey', () => {
    const others = [
      { journeyId: 200, actions: [act.startJourney('x', 300)] },
      { journeyId: 300, actions: [act.condition('c', [{ attribute: 'EmailAddress', operator: 'is_set' }], [act.startJourney('y', 100)])] },
    ];
    expect(findStartJourneyCycles(100, [act.wait('w'), act.startJourney('s1', 200)], others)).toEqual({ path: [100, 200, 300, 100], actionId: 's1' });
  });

  it('uses the actions being saved, not the stored ones of this journey', () => {
    const others = [
      { journeyId: 100, actions: [act.startJourney('old', 200)] },
      { journeyId: 200, actions: [act.startJourney('z', 100)] },
    ];
    expect(findStartJourneyCycles(100, [act.exitThis('e')], others)).toBeNull();
  });

  it('reports the shortest loop', () => {
    const others = [
      { journeyId: 200, actions: [act.startJourney('a', 300)] },
      { journeyId: 300, actions: [act.startJourney('b', 100)] },
      { journeyId: 400, actions: [act.startJourney('c', 100)] },
    ];
    expect(findStartJourneyCycles(100, [act.startJourney('s1', 200), act.startJourney('s2', 400)], others)?.path).toEqual([100, 400, 100]);
  });

  it('ignores loops that do not pass through this journey', () => {
    const others = [
      { journeyId: 200, actions: [act.startJourney('a', 300)] },
      { journeyId: 300, actions: [act.startJourney('b', 200)] },
    ];
    expect(findStartJourneyCycles(100, [act.startJourney('s1', 200)], others)).toBeNull();
  });

  it('becomes a violation on the Start Journey action', () => {
    const others = [{ journeyId: 200, actions: [act.startJourney('a', 100)] }];
    expect(startJourneyCycleViolations(100, [act.startJourney('s1', 200)], others)).toEqual([
      { code: 'start_journey_cycle', actionId: 's1', message: 'Start Journey makes a loop: journey 100 → 200 → 100' },
    ]);
  });
});

describe(`${startJourneyCycleViolations.name} with a Start Journey of the journey itself`, () => {
  const selfStart = { id: 's', type: 'start_journey', settings: { journeyId: 100 } };
  /** What saving reports: the parse's violations, then the loop check's (as JourneyValidation.parseActions does). */
  const violationsOnSave = (input: unknown[], others: { journeyId: number; actions: Action[] }[] = []) => {
    const parsed = parse(input);
    return [...parsed.violations, ...startJourneyCycleViolations(100, parsed.actions, others)];
  };

  it('is one violation, the clearer "cannot start the journey it is in", not also a loop 100 → 100', () => {
    expect(violationsOnSave([selfStart])).toEqual([{ code: 'start_journey_self', actionId: 's', message: 'Start Journey cannot start the journey it is in' }]);
    expect(findStartJourneyCycles(100, [act.startJourney('s', 100)], [])).toBeNull();
  });

  it('still reports a real loop through another journey beside it', () => {
    const others = [{ journeyId: 200, actions: [act.startJourney('back', 100)] }];
    expect(violationsOnSave([selfStart, { id: 's2', type: 'start_journey', settings: { journeyId: 200 } }], others)).toEqual([
      { code: 'start_journey_self', actionId: 's', message: 'Start Journey cannot start the journey it is in' },
      { code: 'start_journey_cycle', actionId: 's2', message: 'Start Journey makes a loop: journey 100 → 200 → 100' },
    ]);
  });
});
