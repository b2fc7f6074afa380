import { describeGoal, describeTrigger } from './trigger-words';

const names = {
  lists: new Map([
    [1, 'Newsletter'],
    [2, 'Customers'],
    [3, 'VIP'],
  ]),
  emails: new Map([
    [5, 'Welcome'],
    [6, 'Offer'],
  ]),
  fields: new Map([[10, 'City']]),
};

describe(describeTrigger.name, () => {
  it.each([
    [{ type: 'subscription', listIds: [1] }, 'When someone subscribes to Newsletter'],
    [{ type: 'subscription', listIds: [1, 2, 3] }, 'When someone subscribes to Newsletter, Customers or VIP'],
    [{ type: 'unsubscription', listIds: 'any' }, 'When someone unsubscribes from any list'],
    [{ type: 'email_opened', emailIds: [5] }, 'When someone opens Welcome'],
    [{ type: 'link_clicked', emailIds: [6], link: { match: 'exact', value: 'https://x.test/a' } }, 'When someone clicks https://x.test/a in Offer'],
    [{ type: 'link_clicked', emailIds: 'any' }, 'When someone clicks a link in any email'],
    [{ type: 'conversion', emailIds: [6], channel: 'shop', minValue: 20 }, 'When someone converts from Offer on channel shop worth at least 20'],
    [{ type: 'subscription', listIds: [9] }, 'When someone subscribes to list #9 (not found)'],
    [{ type: 'manual' }, 'Started manually (by a Start Journey action or the API)'],
  ] as const)('%j → %s', (trigger, words) => {
    expect(describeTrigger(trigger as never, names)).toBe(words);
  });
});

describe(describeGoal.name, () => {
  it.each([
    [{ type: 'conversion', emailIds: 'any' }, 'The subscriber converts from any email'],
    [
      { type: 'conversion', emailIds: [5, 6], channel: 'shop', minValue: 20 },
      'The subscriber converts from Welcome or Offer on channel shop worth at least 20',
    ],
    [{ type: 'link_clicked', emailIds: [6], link: { match: 'pattern', value: '*/buy*' } }, 'The subscriber clicks a link matching */buy* in Offer'],
    [{ type: 'custom_field', rule: { attribute: 'CustomField:10', operator: 'equals', value: 'Paris' } }, 'City equals “Paris”'],
    [{ type: 'custom_field', rule: { attribute: 'CustomField:11', operator: 'is_set' } }, 'custom field #11 (not found) is set'],
  ] as const)('%j → %s', (goal, words) => {
    expect(describeGoal(goal as never, names)).toBe(words);
  });
});
