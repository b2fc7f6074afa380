import fc from 'fast-check';
import { act, aJourney, aSubscriber, someFacts } from './engine.fixtures';
import type { Action, ConditionRule } from './journey.types';
import { ACTION_REMOVED_REASON, advance, endsOtherEntries, EXIT_JOURNEY_REASON, EXIT_THIS_JOURNEY_REASON } from './step';
import type { StepInput, StepStart } from './step.types';

const NOW = new Date('2025-01-06T10:00:00Z'); // a Monday
const isGold: ConditionRule = { attribute: 'CustomField:7', operator: 'equals', value: 'gold' };
const isSilver: ConditionRule = { attribute: 'CustomField:7', operator: 'equals', value: 'silver' };

function step(actions: Action[], start: StepStart = { from: 'beginning' }, overrides: Partial<StepInput> = {}) {
  return advance({ journey: aJourney(actions), start, facts: someFacts(), now: NOW, ...overrides });
}

describe(advance.name, () => {
  describe('instant actions', () => {
    it('runs them back to back and completes at the end of the list', () => {
      const result = step([act.setField('a1', 10, 'x'), act.startJourney('a2', 200), act.exitJourney('a3', [300]), act.exitOthers('a4')]);
      expect(result.outcome).toEqual({ kind: 'completed' });
      expect(result.ran.map((r) => r.actionId)).toEqual(['a1', 'a2', 'a3', 'a4']);
      expect(result.effects).toEqual([
        { kind: 'set_custom_field', actionId: 'a1', fieldId: 10, value: 'x' },
        { kind: 'start_journey', actionId: 'a2', journeyId: 200 },
        { kind: 'exit_journeys', actionId: 'a3', journeyIds: [300] },
        { kind: 'exit_all_other_journeys', actionId: 'a4' },
      ]);
    });

    it('completes at once for an empty journey', () => {
      expect(step([])).toEqual({ ran: [], effects: [], outcome: { kind: 'completed' } });
    });

    it('resolves merge tags in Update Custom Field values and logs the value written', () => {
      const result = step([act.setField('a1', 10, 'Hi %Subscriber:EmailAddress% (%Subscriber:CustomField7%)')]);
      expect(result.effects).toEqual([{ kind: 'set_custom_field', actionId: 'a1', fieldId: 10, value: 'Hi Ada@Example.com (Gold)' }]);
      expect(result.ran[0].result).toBe('Hi Ada@Example.com (Gold)');
    });

    it('lets a later condition see a field an earlier action just updated', () => {
      const result = step([act.setField('a1', 7, 'Silver'), act.condition('c1', [isSilver], [act.exitThis('yes-exit')], [act.exitOthers('no-exit')])]);
      expect(result.ran.find((r) => r.actionId === 'c1')?.result).toBe('yes');
    });
  });

  describe('conditions', () => {
    const tree = [act.condition('c1', [isGold], [act.setField('y1', 10, 'yes')], [act.setField('n1', 10, 'no')])];

    it('takes the Yes branch when the rules hold', () => {
      const result = step(tree);
      expect(result.ran).toEqual([
        { actionId: 'c1', type: 'condition', result: 'yes' },
        { actionId: 'y1', type: 'update_custom_field', result: 'yes' },
      ]);
      expect(result.outcome).toEqual({ kind: 'completed' });
    });

    it('takes the No branch otherwise', () => {
      const facts = someFacts({ subscriber: aSubscriber({ customFields: { 7: 'Bronze' } }) });
      const result = step(tree, { from: 'beginning' }, { facts });
      expect(result.ran.map((r) => [r.actionId, r.result])).toEqual([
        ['c1', 'no'],
        ['n1', 'no'],
      ]);
    });

    it('ends the journey when the branch taken is empty', () => {
      const result = step([act.condition('c1', [isGold], [], [act.wait('n1')])]);
      expect(result.outcome).toEqual({ kind: 'completed' });
      expect(result.ran).toHaveLength(1);
    });

    it('never runs actions after a condition in the same list (the branch ends the journey)', () => {
      const result = step([act.condition('c1', [isGold], [act.setField('y1', 10, 'v')]), act.exitOthers('after')]);
      expect(result.ran.map((r) => r.actionId)).toEqual(['c1', 'y1']);
      expect(result.outcome.kind).toBe('completed');
    });

    it('fails at the condition when its activity was not loaded', () => {
      const result = step([act.condition('c1', [{ attribute: 'Opens', operator: 'at_least', value: '1', emailIds: [99] }])]);
      expect(result.outcome).toEqual({ kind: 'failed', actionId: 'c1', error: expect.stringMatching(/not loaded/) });
      expect(result.ran).toEqual([]);
    });
  });

  describe('waits', () => {
    it('stops at a Wait with its wake time and logs it', () => {
      const result = step([act.setField('a1', 10, 'x'), act.wait('w1', 2, 'hours'), act.exitOthers('a3')]);
      expect(result.outcome).toEqual({ kind: 'wait', actionId: 'w1', wakeAt: new Date('2025-01-06T12:00:00Z') });
      expect(result.ran).toEqual([
        { actionId: 'a1', type: 'update_custom_field', result: 'x' },
        { actionId: 'w1', type: 'wait', result: '2025-01-06T12:00:00.000Z' },
      ]);
    });

    it("places the wake time in the send window of the owner's zone", () => {
      const tree = [act.wait('w1', 1, 'hours', { notBefore: '09:00', notAfter: '10:00' })];
      const result = step(tree, { from: 'beginning' }, { facts: someFacts({ timeZone: 'Europe/Istanbul' }) });
      // 11:00Z is 14:00 in Istanbul: next day 09:00 local = 06:00Z.
      expect(result.outcome).toEqual({ kind: 'wait', actionId: 'w1', wakeAt: new Date('2025-01-07T06:00:00Z') });
    });

    it('resumes after a Wait without logging it again', () => {
      const result = step([act.wait('w1'), act.setField('a2', 10, 'x')], { from: 'after', actionId: 'w1' });
      expect(result.ran.map((r) => r.actionId)).toEqual(['a2']);
      expect(result.outcome.kind).toBe('completed');
    });

    it('resumes after a Wait inside a branch and continues down that branch', () => {
      const tree = [act.condition('c1', [isGold], [act.wait('w1'), act.setField('y2', 10, 'x'), act.wait('w2')])];
      const result = step(tree, { from: 'after', actionId: 'w1' });
      expect(result.ran.map((r) => r.actionId)).toEqual(['y2', 'w2']);
      expect(result.outcome).toMatchObject({ kind: 'wait', actionId: 'w2' });
    });

    it('fails at the Wait when the owner time zone is unknown', () => {
      const tree = [act.wait('w1', 1, 'hours', { notBefore: '09:00' })];
      const result = step(tree, { from: 'beginning' }, { facts: someFacts({ timeZone: 'Not/AZone' }) });
      expect(result.outcome).toMatchObject({ kind: 'failed', actionId: 'w1' });
    });
  });

  describe('external actions', () => {
    it.each([
      ['subscribe', act.subscribe('x1', 2)],
      ['unsubscribe', act.unsubscribe('x1', 2)],
      ['webhook', act.webhook('x1')],
    ])('parks at %s before running it, leaving it for the runtime to run and log', (_name, external) => {
      const result = step([act.setField('a1', 10, 'x'), external, act.exitOthers('a3')]);
      expect(result.outcome).toEqual({ kind: 'external', action: external });
      expect(result.ran.map((r) => r.actionId)).toEqual(['a1']);
    });

    it('resumes after the external action once the runtime has carried it out', () => {
      const result = step([act.subscribe('x1', 2), act.exitOthers('a2')], { from: 'after', actionId: 'x1' });
      expect(result.ran.map((r) => r.actionId)).toEqual(['a2']);
      expect(result.outcome.kind).toBe('completed');
    });
  });

  describe('exits', () => {
    it('Exit This Journey ends the walk there with its reason', () => {
      const result = step([act.setField('a1', 10, 'x'), act.exitThis('e1'), act.setField('a3', 10, 'y')]);
      expect(result.outcome).toEqual({ kind: 'exited', actionId: 'e1', reason: EXIT_THIS_JOURNEY_REASON });
      expect(result.ran.map((r) => r.actionId)).toEqual(['a1', 'e1']);
      expect(result.effects).toHaveLength(1);
    });

    it("Exit Journey naming this journey exits this entry there, and its effect names every journey (for the person's other entries)", () => {
      const result = step([act.exitJourney('e1', [300, 100]), act.setField('a2', 10, 'y')]);
      expect(result.effects).toEqual([{ kind: 'exit_journeys', actionId: 'e1', journeyIds: [300, 100] }]);
      expect(result.outcome).toEqual({ kind: 'exited', actionId: 'e1', reason: EXIT_JOURNEY_REASON });
      expect(result.ran.map((r) => r.actionId)).toEqual(['e1']);
    });

    it('Exit Journey naming only this journey still names it in the effect: the person may be in it through another list', () => {
      const result = step([act.exitJourney('e1', [100])]);
      expect(result.effects).toEqual([{ kind: 'exit_journeys', actionId: 'e1', journeyIds: [100] }]);
      expect(result.outcome).toMatchObject({ kind: 'exited', actionId: 'e1' });
    });

    it('Exit Journey naming other journeys only goes on after it', () => {
      const result = step([act.exitJourney('e1', [300]), act.wait('w1')]);
      expect(result.effects).toEqual([{ kind: 'exit_journeys', actionId: 'e1', journeyIds: [300] }]);
      expect(result.outcome).toMatchObject({ kind: 'wait', actionId: 'w1' });
    });
  });

  describe(endsOtherEntries.name, () => {
    it('is true for a tree with an Exit Journey or an Exit All Other Journeys anywhere, branches included', () => {
      expect(endsOtherEntries([act.condition('c1', [isGold], [act.wait('w1')], [act.exitJourney('e1', [300])])])).toBe(true);
      expect(endsOtherEntries([act.wait('w1'), act.condition('c1', [isGold], [act.exitOthers('e1')])])).toBe(true);
    });

    it('is false without them: Exit This Journey ends only the entry walking it', () => {
      expect(endsOtherEntries([act.setField('a1', 10, 'x'), act.startJourney('a2', 200), act.exitThis('e1')])).toBe(false);
      expect(endsOtherEntries([])).toBe(false);
    });
  });

  describe('after a live edit', () => {
    it('exits an entry whose action was removed, naming the action and the reason', () => {
      const result = step([act.setField('a1', 10, 'x')], { from: 'after', actionId: 'removed-wait' });
      expect(result).toEqual({ ran: [], effects: [], outcome: { kind: 'exited', actionId: 'removed-wait', reason: ACTION_REMOVED_REASON } });
    });

    it('keeps the place of an entry whose action moved', () => {
      const moved = [act.setField('a0', 10, 'new'), act.condition('c1', [isGold], [act.wait('w1'), act.exitOthers('a2')])];
      const result = step(moved, { from: 'after', actionId: 'w1' });
      expect(result.ran.map((r) => r.actionId)).toEqual(['a2']);
    });
  });

  describe('the action bound', () => {
    it('fails at the next action once maxActions have run', () => {
      const result = step([act.setField('a1', 10, '1'), act.setField('a2', 10, '2'), act.setField('a3', 10, '3')], { from: 'beginning' }, { maxActions: 2 });
      expect(result.ran).toHaveLength(2);
      expect(result.outcome).toEqual({ kind: 'failed', actionId: 'a3', error: 'Stopped after 2 actions in one step' });
    });
  });

  it('does not change its input', () => {
    const input: StepInput = { journey: aJourney([act.setField('a1', 7, 'Silver')]), start: { from: 'beginning' }, facts: someFacts(), now: NOW };
    const before = JSON.stringify(input);
    advance(input);
    expect(JSON.stringify(input)).toBe(before);
  });
});

/* ---------- properties over random trees ---------- */

const instant: fc.Arbitrary<Omit<Action, 'id'>> = fc.oneof(
  fc.constant({ type: 'update_custom_field', settings: { fieldId: 10, value: 'v' } } as Omit<Action, 'id'>),
  fc.constant({ type: 'start_journey', settings: { journeyId: 200 } } as Omit<Action, 'id'>),
  fc.constant({ type: 'exit_all_other_journeys', settings: {} } as Omit<Action, 'id'>),
  fc.constant({ type: 'exit_this_journey', settings: {} } as Omit<Action, 'id'>),
  fc.constant({ type: 'wait', settings: { amount: 1, unit: 'hours' } } as Omit<Action, 'id'>),
  fc.constant({ type: 'webhook', settings: { url: 'https://x.example', method: 'POST' } } as Omit<Action, 'id'>),
);

const { tree: treeArb } = fc.letrec<{ tree: Omit<Action, 'id'>[]; node: Omit<Action, 'id'> }>((tie) => ({
  tree: fc.array(tie('node'), { maxLength: 5 }),
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    instant,
    fc.record({
      type: fc.constant('condition'),
      settings: fc.constantFrom({ match: 'all', rules: [isGold] }, { match: 'any', rules: [isSilver] }),
      yes: tie('tree'),
      no: tie('tree'),
    }) as fc.Arbitrary<Omit<Action, 'id'>>,
  ),
}));

function withIds(tree: Omit<Action, 'id'>[], next = { n: 0 }): Action[] {
  return tree.map((node) => {
    const id = `a${++next.n}`;
    if (node.type === 'condition') {
      const condition = node as Omit<Extract<Action, { type: 'condition' }>, 'id'>;
      return { ...condition, id, yes: withIds(condition.yes, next), no: withIds(condition.no, next) };
    }
    return { ...node, id } as Action;
  });
}

describe(`${advance.name} (properties)`, () => {
  it('never runs more than maxActions and always ends in an outcome', () => {
    fc.assert(
      fc.property(treeArb, fc.integer({ min: 0, max: 6 }), (raw, maxActions) => {
        const result = step(withIds(raw), { from: 'beginning' }, { maxActions });
        expect(result.ran.length).toBeLessThanOrEqual(maxActions);
        expect(['wait', 'external', 'completed', 'exited', 'failed']).toContain(result.outcome.kind);
      }),
    );
  });

  it('stops only where the outcome says: a wait at the last action run, external or exit on the action it names', () => {
    fc.assert(
      fc.property(treeArb, (raw) => {
        const result = step(withIds(raw));
        const last = result.ran[result.ran.length - 1];
        if (result.outcome.kind === 'wait') expect(last).toMatchObject({ actionId: result.outcome.actionId, type: 'wait' });
        if (result.outcome.kind === 'exited') expect(last.actionId).toBe(result.outcome.actionId);
        if (result.outcome.kind === 'external') expect(result.ran.map((r) => r.actionId)).not.toContain(result.outcome.action.id);
        expect(new Set(result.ran.map((r) => r.actionId)).size).toBe(result.ran.length);
      }),
    );
  });

  it('resuming after any action of a tree never fails or repeats that action', () => {
    fc.assert(
      fc.property(treeArb, (raw) => {
        const tree = withIds(raw);
        const ids =
          JSON.stringify(tree)
            .match(/"id":"a\d+"/g)
            ?.map((m) => m.slice(6, -1)) ?? [];
        for (const id of ids) {
          const result = step(tree, { from: 'after', actionId: id });
          expect(result.outcome.kind).not.toBe('failed');
          expect(result.ran.map((r) => r.actionId)).not.toContain(id);
        }
      }),
    );
  });
});
