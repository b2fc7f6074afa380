import { aSubscriber } from './engine.fixtures';
import { mergeTagsIn, resolveMergeTags } from './merge-tags';

const subscriber = aSubscriber({ customFields: { 7: 'Gold', 8: null } });

describe(resolveMergeTags.name, () => {
  it('fills in the email address, the subscriber id and a custom field', () => {
    expect(resolveMergeTags('%Subscriber:EmailAddress% #%Subscriber:SubscriberID% %Subscriber:CustomField7%', subscriber)).toBe('Ada@Example.com #42 Gold');
  });

  it('matches tag names without regard to case', () => {
    expect(resolveMergeTags('%subscriber:emailaddress%', subscriber)).toBe('Ada@Example.com');
  });

  it('empties a known tag whose value is missing', () => {
    expect(resolveMergeTags('[%Subscriber:CustomField8%][%Subscriber:CustomField99%][%Subscriber:OptInDate%]', subscriber)).toBe('[][][]');
  });

  it('writes dates as ISO 8601', () => {
    expect(resolveMergeTags('%Subscriber:SubscriptionDate%', subscriber)).toBe('2024-03-10T12:00:00.000Z');
  });

  it('leaves unknown tags and stray percent signs exactly as written', () => {
    expect(resolveMergeTags('50% off %Subscriber:Nickname% and %Other:Tag%', subscriber)).toBe('50% off %Subscriber:Nickname% and %Other:Tag%');
  });

  it('does not resolve tags inside a substituted value', () => {
    const tricky = aSubscriber({ customFields: { 7: '%Subscriber:EmailAddress%' } });
    expect(resolveMergeTags('%Subscriber:CustomField7%', tricky)).toBe('%Subscriber:EmailAddress%');
  });
});

describe(mergeTagsIn.name, () => {
  it('classifies each tag for the validator', () => {
    expect(mergeTagsIn('%Subscriber:EmailAddress% %Subscriber:CustomField12% %Subscriber:Bogus%')).toEqual([
      { kind: 'subscriber', text: '%Subscriber:EmailAddress%', name: 'emailaddress' },
      { kind: 'custom_field', text: '%Subscriber:CustomField12%', fieldId: 12 },
      { kind: 'unknown', text: '%Subscriber:Bogus%' },
    ]);
  });
});

describe(`${resolveMergeTags.name} with hostile names`, () => {
  it('does not treat object prototype names as tags', () => {
    expect(resolveMergeTags('%Subscriber:constructor% %Subscriber:toString%', subscriber)).toBe('%Subscriber:constructor% %Subscriber:toString%');
  });
});
