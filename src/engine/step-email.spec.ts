import fc from 'fast-check';
import { act, aJourney, anEvent, someFacts } from './engine.fixtures';
import type { Action, JourneyGoal } from './journey.types';
import { ACTION_REMOVED_REASON, advance, splitPath } from './step';
import type { StepInput, StepStart } from './step.types';

const NOW = new Date('2025-01-06T10:00:00Z');
const HOUR = 3600_000;
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);
const ENTERED = at(-48 * HOUR);

function step(actions: Action[], start: StepStart = { from: 'beginning' }, overrides: Partial<StepInput> = {}, goal?: JourneyGoal) {
  return advance({
    journey: aJourney(actions, { goal: goal ?? null }),
    start,
    facts: someFacts(),
    now: NOW,
    entry: { key: '100:1:42:1', enteredAt: ENTERED },
    ...overrides,
  });
}

const waiting = (actionId: string, since: Date, until: Date): StepStart => ({ from: 'waiting', actionId, since, until });

describe('Send Email', () => {
  it('stops the walk before it, as an external action the runtime carries out', () => {
    const send = act.sendEmail('s1', 5);
    const result = step([act.setField('f', 10, 'x'), send, act.exitThis('after')]);
    expect(result.ran.map((r) => r.actionId)).toEqual(['f']);
    expect(result.outcome).toEqual({ kind: 'external', action: send });
  });
});

describe('Wait for event', () => {
  const opened = act.waitForEvent(
    'w',
    { type: 'email_opened', emailIds: { sentBy: 's1' } },
    [act.setField('yes-1', 10, 'yes')],
    [act.setField('no-1', 10, 'no')],
    72,
  );
  const journey = [act.sendEmail('s1', 5), opened];

  it('reached: waits until its timeout, counting events from now, and logs nothing yet (it is logged when it resolves)', () => {
    const result = step(journey, { from: 'after', actionId: 's1' });
    expect(result).toEqual({ ran: [], effects: [], outcome: { kind: 'wait', actionId: 'w', wakeAt: at(72 * HOUR), eventsSince: NOW } });
  });

  it('takes the Yes branch at once on an event of the sent email after it began waiting', () => {
    const events = [anEvent({ eventId: 'open-1', emailId: 5, occurredAt: at(-HOUR) })];
    const result = step(journey, waiting('w', at(-2 * HOUR), at(70 * HOUR)), { facts: someFacts({ events }) });
    expect(result.ran.map((r) => [r.actionId, r.result])).toEqual([
      ['w', 'yes: open-1'],
      ['yes-1', 'yes'],
    ]);
    expect(result.outcome).toEqual({ kind: 'completed' });
  });

  it('does not count an event from before it began waiting, nor one of another email, nor another kind of event', () => {
    const events = [
      anEvent({ eventId: 'early', emailId: 5, occurredAt: at(-3 * HOUR) }),
      anEvent({ eventId: 'other-email', emailId: 6, occurredAt: at(-HOUR) }),
      anEvent({ eventId: 'a-click', type: 'link_clicked', emailId: 5, url: 'https://x.example/', occurredAt: at(-HOUR) }),
    ];
    expect(step(journey, waiting('w', at(-2 * HOUR), at(70 * HOUR)), { facts: someFacts({ events }) }).outcome).toEqual({ kind: 'unchanged' });
  });

  it('takes the No branch once the timeout has passed without the event; an event after the timeout does not count', () => {
    const late = [anEvent({ eventId: 'too-late', emailId: 5, occurredAt: at(-HOUR) })];
    const result = step(journey, waiting('w', at(-80 * HOUR), at(-2 * HOUR)), { facts: someFacts({ events: late }) });
    expect(result.ran.map((r) => [r.actionId, r.result])).toEqual([
      ['w', 'no: timed out'],
      ['no-1', 'no'],
    ]);
  });

  it('matches a click by its link pattern, and a conversion by channel and minimum value', () => {
    const click = act.waitForEvent('w', { type: 'link_clicked', emailIds: 'any', link: { match: 'pattern', value: '*/pricing*' } }, [act.exitThis('y')]);
    const clicks = (url: string) => someFacts({ events: [anEvent({ type: 'link_clicked', url, occurredAt: at(-HOUR) })] });
    expect(step([click], waiting('w', at(-2 * HOUR), at(HOUR)), { facts: clicks('https://shop.example/pricing?a=1') }).ran[0].result).toMatch(/^yes/);
    expect(step([click], waiting('w', at(-2 * HOUR), at(HOUR)), { facts: clicks('https://shop.example/blog') }).outcome).toEqual({ kind: 'unchanged' });

    const buy = act.waitForEvent('w', { type: 'conversion', emailIds: [5], channel: 'shop', minValue: 20 }, [act.exitThis('y')]);
    const converts = (value: number, channel: string) =>
      someFacts({ events: [anEvent({ type: 'conversion', emailId: 5, value, channel, occurredAt: at(-HOUR) })] });
    expect(step([buy], waiting('w', at(-2 * HOUR), at(HOUR)), { facts: converts(25, 'Shop') }).ran[0].result).toMatch(/^yes/);
    expect(step([buy], waiting('w', at(-2 * HOUR), at(HOUR)), { facts: converts(15, 'shop') }).outcome).toEqual({ kind: 'unchanged' });
    expect(step([buy], waiting('w', at(-2 * HOUR), at(HOUR)), { facts: converts(25, 'app') }).outcome).toEqual({ kind: 'unchanged' });
  });

  it('a removed Wait for event exits with the reason, as any removed action', () => {
    expect(step([act.exitThis('x')], waiting('gone', at(-HOUR), at(HOUR))).outcome).toEqual({
      kind: 'exited',
      actionId: 'gone',
      reason: ACTION_REMOVED_REASON,
    });
  });
});

describe('Wait while waiting', () => {
  it('stays until due, then goes on after the Wait', () => {
    const journey = [act.wait('w', 2, 'days'), act.setField('after', 10, 'x')];
    expect(step(journey, waiting('w', at(-HOUR), at(HOUR))).outcome).toEqual({ kind: 'unchanged' });
    const due = step(journey, waiting('w', at(-3 * HOUR), at(-HOUR)));
    expect(due.ran.map((r) => r.actionId)).toEqual(['after']);
    expect(due.outcome).toEqual({ kind: 'completed' });
  });
});

describe('Random split', () => {
  const split = act.split('r', [20, 30, 50], [[act.setField('a', 10, 'A')], [act.setField('b', 10, 'B')], [act.setField('c', 10, 'C')]]);

  it('sends the entry down one path, logged as its letter, and the same entry always down the same one', () => {
    const first = step([split]);
    const again = step([split]);
    expect(first).toEqual(again);
    const path = splitPath('100:1:42:1', 'r', [20, 30, 50]);
    expect(first.ran).toEqual([
      { actionId: 'r', type: 'random_split', result: `path ${'ABC'[path]}` },
      { actionId: 'abc'[path], type: 'update_custom_field', result: 'ABC'[path] },
    ]);
  });

  it('spreads many entries over the paths by the percentages (property, 20,000 entries, within 1.5 points)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 4 }), fc.string({ minLength: 1, maxLength: 12 }), (cuts, actionId) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const percents = [...points, 100].map((p, i) => p - (i === 0 ? 0 : points[i - 1]));
        const counts = percents.map(() => 0);
        for (let i = 0; i < 20_000; i++) counts[splitPath(`7:1:${i}:1`, actionId, percents)]++;
        counts.forEach((n, i) => expect(Math.abs((100 * n) / 20_000 - percents[i])).toBeLessThan(1.5));
      }),
      { numRuns: 25 },
    );
  });
});

describe('Goals', () => {
  const conversion: JourneyGoal = { type: 'conversion', emailIds: 'any', minValue: 10 };

  it('takes an entry out as converted before any action runs, wherever it stands, when an event since it entered meets the goal', () => {
    const facts = someFacts({ events: [anEvent({ eventId: 'buy-1', type: 'conversion', emailId: 5, value: 49.9, occurredAt: at(-HOUR) })] });
    const journey = [act.wait('w', 30, 'days'), act.setField('never', 10, 'x')];
    const result = step(journey, waiting('w', at(-5 * HOUR), at(29 * 24 * HOUR)), { facts }, conversion);
    expect(result.ran).toEqual([]);
    expect(result.outcome).toEqual({ kind: 'converted', actionId: 'w', reason: expect.stringContaining('event buy-1') });
  });

  it('does not count a conversion from before the entry entered, nor one below the minimum value', () => {
    const facts = someFacts({
      events: [
        anEvent({ type: 'conversion', value: 99, occurredAt: new Date(ENTERED.getTime() - HOUR) }),
        anEvent({ type: 'conversion', value: 5, occurredAt: at(-HOUR) }),
      ],
    });
    expect(step([act.setField('f', 10, 'x')], { from: 'beginning' }, { facts }, conversion).outcome).toEqual({ kind: 'completed' });
  });

  it('a custom field condition made true by an Update Custom Field converts right there: the next action does not run', () => {
    const goal: JourneyGoal = { type: 'custom_field', rule: { attribute: 'CustomField:10', operator: 'equals', value: 'customer' } };
    const result = step([act.setField('f', 10, 'Customer'), act.setField('never', 7, 'x')], { from: 'beginning' }, {}, goal);
    expect(result.ran.map((r) => r.actionId)).toEqual(['f']);
    expect(result.effects).toHaveLength(1);
    expect(result.outcome).toEqual({ kind: 'converted', actionId: 'f', reason: 'Goal met: custom field 10 equals customer' });
  });

  it('a click goal by link pattern', () => {
    const goal: JourneyGoal = { type: 'link_clicked', emailIds: [5], link: { match: 'pattern', value: '*checkout*' } };
    const facts = someFacts({ events: [anEvent({ type: 'link_clicked', emailId: 5, url: 'https://shop.example/checkout', occurredAt: at(-HOUR) })] });
    expect(step([act.exitThis('x')], { from: 'beginning' }, { facts }, goal).outcome.kind).toBe('converted');
  });
});
