import fc from 'fast-check';
import type { Trigger } from './journey.types';
import type { TriggerEvent } from './trigger-event';
import { ANY_TARGET, linkPatternMatches, matchesTrigger, triggerTargets } from './trigger-match';

function anEvent(overrides: Partial<TriggerEvent>): TriggerEvent {
  return { eventId: 'e1', type: 'subscription', userId: 1, listId: 1, subscriberId: 42, occurredAt: new Date('2025-01-01T00:00:00Z'), ...overrides };
}

describe(triggerTargets.name, () => {
  it('indexes list triggers by list and email triggers by email', () => {
    expect(triggerTargets({ type: 'subscription', listIds: [3, 4] })).toEqual([3, 4]);
    expect(triggerTargets({ type: 'unsubscription', listIds: [3] })).toEqual([3]);
    expect(triggerTargets({ type: 'email_opened', emailIds: [5] })).toEqual([5]);
    expect(triggerTargets({ type: 'conversion', emailIds: [5, 6] })).toEqual([5, 6]);
    expect(triggerTargets({ type: 'link_clicked', emailIds: [6] })).toEqual([6]);
  });

  it('indexes "any" under 0 and manual under nothing', () => {
    expect(triggerTargets({ type: 'subscription', listIds: 'any' })).toEqual([ANY_TARGET]);
    expect(triggerTargets({ type: 'email_opened', emailIds: 'any' })).toEqual([0]);
    expect(triggerTargets({ type: 'manual' })).toEqual([]);
  });
});

describe(matchesTrigger.name, () => {
  it('matches subscription and unsubscription by list', () => {
    expect(matchesTrigger({ type: 'subscription', listIds: [1, 2] }, anEvent({ listId: 2 }))).toBe(true);
    expect(matchesTrigger({ type: 'subscription', listIds: [1] }, anEvent({ listId: 3 }))).toBe(false);
    expect(matchesTrigger({ type: 'subscription', listIds: 'any' }, anEvent({ listId: 3 }))).toBe(true);
    expect(matchesTrigger({ type: 'unsubscription', listIds: [1] }, anEvent({ type: 'unsubscription' }))).toBe(true);
  });

  it('never matches an event of another type', () => {
    expect(matchesTrigger({ type: 'unsubscription', listIds: 'any' }, anEvent({ type: 'subscription' }))).toBe(false);
  });

  it('matches opens by email', () => {
    const trigger: Trigger = { type: 'email_opened', emailIds: [5] };
    expect(matchesTrigger(trigger, anEvent({ type: 'email_opened', emailId: 5 }))).toBe(true);
    expect(matchesTrigger(trigger, anEvent({ type: 'email_opened', emailId: 6 }))).toBe(false);
    expect(matchesTrigger(trigger, anEvent({ type: 'email_opened' }))).toBe(false);
  });

  it('matches conversions by email, channel (ignoring case) and minimum value', () => {
    const trigger: Trigger = { type: 'conversion', emailIds: 'any', channel: 'Paid', minValue: 10 };
    expect(matchesTrigger(trigger, anEvent({ type: 'conversion', emailId: 5, channel: 'paid', value: 10 }))).toBe(true);
    expect(matchesTrigger(trigger, anEvent({ type: 'conversion', emailId: 5, channel: 'organic', value: 50 }))).toBe(false);
    expect(matchesTrigger(trigger, anEvent({ type: 'conversion', emailId: 5, channel: 'paid', value: 9.99 }))).toBe(false);
    expect(matchesTrigger(trigger, anEvent({ type: 'conversion', emailId: 5, channel: 'paid', value: null }))).toBe(false);
    expect(matchesTrigger({ type: 'conversion', emailIds: 'any' }, anEvent({ type: 'conversion', channel: null, value: null }))).toBe(true);
  });

  it('matches clicks on an exact link', () => {
    const trigger: Trigger = { type: 'link_clicked', emailIds: [5], link: { match: 'exact', value: 'https://shop.example/sale' } };
    expect(matchesTrigger(trigger, anEvent({ type: 'link_clicked', emailId: 5, url: 'https://shop.example/sale' }))).toBe(true);
    expect(matchesTrigger(trigger, anEvent({ type: 'link_clicked', emailId: 5, url: 'https://shop.example/sale?x=1' }))).toBe(false);
    expect(matchesTrigger(trigger, anEvent({ type: 'link_clicked', emailId: 5 }))).toBe(false);
  });

  it('matches clicks on a link pattern, and any link when none is given', () => {
    const trigger: Trigger = { type: 'link_clicked', emailIds: 'any', link: { match: 'pattern', value: 'https://shop.example/*' } };
    expect(matchesTrigger(trigger, anEvent({ type: 'link_clicked', emailId: 5, url: 'https://shop.example/sale?x=1' }))).toBe(true);
    expect(matchesTrigger(trigger, anEvent({ type: 'link_clicked', emailId: 5, url: 'https://blog.example/' }))).toBe(false);
    expect(matchesTrigger({ type: 'link_clicked', emailIds: 'any' }, anEvent({ type: 'link_clicked', emailId: 5, url: 'https://x' }))).toBe(true);
  });

  it('never matches a manual journey from a host event', () => {
    expect(matchesTrigger({ type: 'manual' }, anEvent({ type: 'manual' }))).toBe(false);
  });
});

describe(linkPatternMatches.name, () => {
  it('treats * as any run of characters and everything else literally', () => {
    expect(linkPatternMatches('*.example/*', 'https://a.example/b')).toBe(true);
    expect(linkPatternMatches('https://a.example/?id=1', 'https://a.example/?id=1')).toBe(true);
    expect(linkPatternMatches('https://a.example/?id=1', 'https://a.example/xid=1')).toBe(false);
    expect(linkPatternMatches('https://a.example/(x)', 'https://a.example/(x)')).toBe(true);
  });

  it('ignores case', () => {
    expect(linkPatternMatches('HTTPS://A.EXAMPLE/*', 'https://a.example/page')).toBe(true);
  });
});

describe(`${linkPatternMatches.name} (properties)`, () => {
  it('agrees with an anchored regular expression built from the pattern', () => {
    const alphabet = fc.constantFrom('a', 'b', '/', '.', '*');
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 8 }), fc.string({ unit: fc.constantFrom('a', 'b', '/', '.'), maxLength: 12 }), (pattern, url) => {
        const regex = new RegExp(
          `^${pattern
            .split('*')
            .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*')}$`,
          's',
        );
        expect(linkPatternMatches(pattern, url)).toBe(regex.test(url));
      }),
      { numRuns: 1000 },
    );
  });

  it('stays fast on a pattern full of stars', () => {
    const started = Date.now();
    expect(linkPatternMatches(`${'*a'.repeat(500)}b`, 'a'.repeat(2000))).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
