import { attributeKind, evaluateCondition, evaluateRule, operatorsFor, requiredActivity, ruleValueProblem } from './conditions';
import { aContext, act, aSubscriber, someFacts } from './engine.fixtures';
import type { ConditionRule, RuleOperator } from './journey.types';
import { RULE_OPERATORS } from './journey.types';

const fields = aContext().customFields;
const check = (rule: ConditionRule, facts = someFacts()) => evaluateRule(rule, facts);

describe(attributeKind.name, () => {
  it('knows the host subscriber columns', () => {
    expect(attributeKind('EmailAddress', fields)).toBe('text');
    expect(attributeKind('SubscriptionIP', fields)).toBe('text');
    expect(attributeKind('SubscriberID', fields)).toBe('number');
    expect(attributeKind('SubscriptionDate', fields)).toBe('date');
    expect(attributeKind('OptInDate', fields)).toBe('date');
    expect(attributeKind('SubscriptionStatus', fields)).toBe('enum');
    expect(attributeKind('BounceType', fields)).toBe('enum');
  });

  it('reads custom fields from their host field type', () => {
    expect(attributeKind('CustomField:7', fields)).toBe('enum');
    expect(attributeKind('CustomField:8', fields)).toBe('number');
    expect(attributeKind('CustomField:9', fields)).toBe('date');
    expect(attributeKind('CustomField:10', fields)).toBe('text');
  });

  it('treats Opens and Clicks as activity', () => {
    expect(attributeKind('Opens', fields)).toBe('activity');
    expect(attributeKind('Clicks', fields)).toBe('activity');
  });

  it('is null for a field the owner does not have or an unknown attribute', () => {
    expect(attributeKind('CustomField:99', fields)).toBeNull();
    expect(attributeKind('FirstName', fields)).toBeNull();
  });
});

describe(operatorsFor.name, () => {
  it('offers text operators for text and none of the date ones', () => {
    expect(operatorsFor('text')).toEqual(expect.arrayContaining(['contains', 'begins_with', 'ends_with', 'is_set']));
    expect(operatorsFor('text')).not.toContain('before');
  });

  it('offers before/after only for dates and at least/at most for activity', () => {
    expect(operatorsFor('date')).toEqual(['before', 'after', 'is_set', 'is_not_set']);
    expect(operatorsFor('activity')).toEqual(['at_least', 'at_most']);
  });

  it('offers every operator to some kind', () => {
    const offered = new Set((['text', 'number', 'date', 'enum', 'activity'] as const).flatMap((kind) => [...operatorsFor(kind)]));
    expect([...offered].sort()).toEqual([...RULE_OPERATORS].sort());
  });
});

describe(evaluateRule.name, () => {
  describe('text', () => {
    it('equals and is_not ignore case and surrounding spaces', () => {
      expect(check({ attribute: 'EmailAddress', operator: 'equals', value: ' ada@example.COM ' })).toBe(true);
      expect(check({ attribute: 'EmailAddress', operator: 'is_not', value: 'ada@example.com' })).toBe(false);
      expect(check({ attribute: 'EmailAddress', operator: 'is_not', value: 'bob@example.com' })).toBe(true);
    });

    it('contains, begins_with and ends_with ignore case', () => {
      expect(check({ attribute: 'EmailAddress', operator: 'contains', value: '@EXAMPLE' })).toBe(true);
      expect(check({ attribute: 'EmailAddress', operator: 'does_not_contain', value: 'example' })).toBe(false);
      expect(check({ attribute: 'EmailAddress', operator: 'begins_with', value: 'ADA' })).toBe(true);
      expect(check({ attribute: 'EmailAddress', operator: 'ends_with', value: '.org' })).toBe(false);
    });

    it('a value that is not set contains nothing and equals nothing', () => {
      const facts = someFacts({ subscriber: aSubscriber({ customFields: { 10: null } }) });
      expect(check({ attribute: 'CustomField:10', operator: 'contains', value: 'a' }, facts)).toBe(false);
      expect(check({ attribute: 'CustomField:10', operator: 'does_not_contain', value: 'a' }, facts)).toBe(true);
      expect(check({ attribute: 'CustomField:10', operator: 'equals', value: 'a' }, facts)).toBe(false);
      expect(check({ attribute: 'CustomField:10', operator: 'is_not', value: 'a' }, facts)).toBe(true);
    });
  });

  describe('numbers', () => {
    it('compare as numbers, not as text', () => {
      expect(check({ attribute: 'CustomField:8', operator: 'greater_than', value: '9' })).toBe(true);
      expect(check({ attribute: 'CustomField:8', operator: 'smaller_than', value: '100' })).toBe(true);
      expect(check({ attribute: 'CustomField:8', operator: 'equals', value: '42.0' })).toBe(true);
      expect(check({ attribute: 'SubscriberID', operator: 'at_least', value: '42' })).toBe(true);
      expect(check({ attribute: 'SubscriberID', operator: 'at_most', value: '41' })).toBe(false);
    });

    it('are never greater or smaller when a side is not a number', () => {
      const facts = someFacts({ subscriber: aSubscriber({ customFields: { 8: 'many' } }) });
      expect(check({ attribute: 'CustomField:8', operator: 'greater_than', value: '1' }, facts)).toBe(false);
      expect(check({ attribute: 'CustomField:8', operator: 'smaller_than', value: '1' }, facts)).toBe(false);
    });
  });

  describe('dates', () => {
    it('compare a date column with a date-only value as whole days', () => {
      // Subscribed 2024-03-10T12:00Z.
      expect(check({ attribute: 'SubscriptionDate', operator: 'after', value: '2024-03-09' })).toBe(true);
      expect(check({ attribute: 'SubscriptionDate', operator: 'after', value: '2024-03-10' })).toBe(false);
      expect(check({ attribute: 'SubscriptionDate', operator: 'before', value: '2024-03-10' })).toBe(false);
      expect(check({ attribute: 'SubscriptionDate', operator: 'before', value: '2024-03-11' })).toBe(true);
    });

    it('compare with a datetime value exactly', () => {
      expect(check({ attribute: 'SubscriptionDate', operator: 'after', value: '2024-03-10T11:59:59Z' })).toBe(true);
      expect(check({ attribute: 'SubscriptionDate', operator: 'before', value: '2024-03-10T12:00:01Z' })).toBe(true);
    });

    it("read date-only values as days in the owner's time zone", () => {
      // 2024-03-10T12:00Z is already 2024-03-11 in Kiritimati (UTC+14).
      const facts = someFacts({ timeZone: 'Pacific/Kiritimati' });
      expect(check({ attribute: 'SubscriptionDate', operator: 'after', value: '2024-03-10' }, facts)).toBe(true);
    });

    it('compare a date custom field stored as text', () => {
      expect(check({ attribute: 'CustomField:9', operator: 'after', value: '2024-04-30' })).toBe(true);
      expect(check({ attribute: 'CustomField:9', operator: 'before', value: '2024-05-01' })).toBe(false);
      expect(check({ attribute: 'CustomField:9', operator: 'before', value: '2024-05-02' })).toBe(true);
    });

    it('are never before or after when the value is not set', () => {
      expect(check({ attribute: 'OptInDate', operator: 'before', value: '2999-01-01' })).toBe(false);
      expect(check({ attribute: 'OptInDate', operator: 'after', value: '1999-01-01' })).toBe(false);
    });
  });

  describe('is_set / is_not_set', () => {
    it('treat null and blank as not set', () => {
      const facts = someFacts({ subscriber: aSubscriber({ customFields: { 10: '  ', 7: 'Gold' } }) });
      expect(check({ attribute: 'CustomField:10', operator: 'is_set' }, facts)).toBe(false);
      expect(check({ attribute: 'CustomField:10', operator: 'is_not_set' }, facts)).toBe(true);
      expect(check({ attribute: 'CustomField:7', operator: 'is_set' }, facts)).toBe(true);
      expect(check({ attribute: 'OptInDate', operator: 'is_not_set' }, facts)).toBe(true);
      expect(check({ attribute: 'CustomField:123', operator: 'is_set' }, facts)).toBe(false);
    });
  });

  describe('enum', () => {
    it('matches the subscription status', () => {
      expect(check({ attribute: 'SubscriptionStatus', operator: 'equals', value: 'subscribed' })).toBe(true);
      expect(check({ attribute: 'BounceType', operator: 'is_not', value: 'Hard' })).toBe(true);
    });
  });

  describe('activity', () => {
    it('counts opens and clicks of the given emails', () => {
      expect(check({ attribute: 'Opens', operator: 'at_least', value: '3' })).toBe(true);
      expect(check({ attribute: 'Opens', operator: 'at_least', value: '4' })).toBe(false);
      expect(check({ attribute: 'Clicks', operator: 'at_most', value: '0', emailIds: [5] })).toBe(true);
      expect(check({ attribute: 'Opens', operator: 'at_least', value: '1', emailIds: [5] })).toBe(true);
    });

    it('throws when the runtime did not load the lookup, rather than guess zero', () => {
      expect(() => check({ attribute: 'Opens', operator: 'at_least', value: '1', emailIds: [6] })).toThrow(/not loaded/);
    });
  });
});

describe(evaluateCondition.name, () => {
  const yes: ConditionRule = { attribute: 'EmailAddress', operator: 'is_set' };
  const no: ConditionRule = { attribute: 'OptInDate', operator: 'is_set' };

  it('all: every rule must hold', () => {
    expect(evaluateCondition({ match: 'all', rules: [yes, yes] }, someFacts())).toBe(true);
    expect(evaluateCondition({ match: 'all', rules: [yes, no] }, someFacts())).toBe(false);
  });

  it('any: one rule is enough', () => {
    expect(evaluateCondition({ match: 'any', rules: [no, yes] }, someFacts())).toBe(true);
    expect(evaluateCondition({ match: 'any', rules: [no, no] }, someFacts())).toBe(false);
  });
});

describe(ruleValueProblem.name, () => {
  it('requires a value except for is_set and is_not_set', () => {
    expect(ruleValueProblem('text', 'equals', undefined)).toMatch(/required/);
    expect(ruleValueProblem('text', 'is_set', undefined)).toBeNull();
  });

  it('checks the value fits the kind', () => {
    expect(ruleValueProblem('number', 'greater_than', 'ten')).toMatch(/number/);
    expect(ruleValueProblem('activity', 'at_least', '1.5')).toMatch(/whole number/);
    expect(ruleValueProblem('date', 'before', '2024-02-30')).toMatch(/date/);
    expect(ruleValueProblem('date', 'before', '2024-02-29')).toBeNull();
    expect(ruleValueProblem('enum', 'equals', 'Maybe', 'SubscriptionStatus')).toMatch(/one of/);
  });

  it.each(['equals', 'is_not'] as RuleOperator[])('accepts any text for %s on text', (operator) => {
    expect(ruleValueProblem('text', operator, 'anything')).toBeNull();
  });
});

describe(requiredActivity.name, () => {
  it('names each distinct activity lookup of the tree, nested branches included', () => {
    const tree = [
      act.condition(
        'c1',
        [{ attribute: 'Opens', operator: 'at_least', value: '1' }],
        [
          act.condition('c2', [
            { attribute: 'Clicks', operator: 'at_least', value: '1', emailIds: [6, 5] },
            { attribute: 'Opens', operator: 'at_most', value: '1', emailIds: [5, 6] },
            { attribute: 'EmailAddress', operator: 'is_set' },
          ]),
        ],
      ),
    ];
    expect(requiredActivity(tree)).toEqual(['any', [5, 6]]);
  });

  it('is empty when no condition looks at activity', () => {
    expect(requiredActivity([act.wait('w')])).toEqual([]);
  });
});

describe(`${attributeKind.name} with hostile names`, () => {
  it('does not treat object prototype names as attributes or field types', () => {
    expect(attributeKind('constructor', fields)).toBeNull();
    expect(attributeKind('CustomField:1', [{ customFieldId: 1, fieldType: 'constructor' }])).toBe('text');
  });
});
