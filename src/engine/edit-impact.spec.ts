import fc from 'fast-check';
import { allActions } from './action-tree';
import { editImpact, type ActionPositionCount } from './edit-impact';
import { act, aJourney, someFacts } from './engine.fixtures';
import type { Action, ConditionRule } from './journey.types';
import { advance } from './step';

const rule = { attribute: 'EmailAddress' as const, operator: 'is_set' as const };
const before = [act.wait('w1'), act.condition('c1', [rule], [act.wait('w2'), act.webhook('h1')], [act.wait('w3')])];

describe(editImpact.name, () => {
  it('counts the entries at actions the new tree removes', () => {
    const after = [act.wait('w1'), act.condition('c1', [rule], [act.wait('w2')], [])];
    const impact = editImpact(before, after, [
      { actionId: 'w1', count: 10 },
      { actionId: 'w3', count: 4 },
      { actionId: 'h1', count: 7 },
    ]);
    expect(impact).toEqual({
      affected: 11,
      removedActionIds: ['h1', 'w3'],
      byAction: [
        { actionId: 'h1', type: 'webhook', count: 7 },
        { actionId: 'w3', type: 'wait', count: 4 },
      ],
      retypedActionIds: [],
      newActions: [],
      reached: { count: 0, upTo: false },
    });
  });

  it('keeps entries at actions that moved elsewhere in the tree', () => {
    const after = [act.wait('w3'), act.wait('w2'), act.webhook('h1')];
    const impact = editImpact(before, after, [
      { actionId: 'w2', count: 3 },
      { actionId: 'w3', count: 2 },
    ]);
    expect(impact.affected).toBe(0);
    expect(impact.removedActionIds).toEqual(['w1', 'c1']);
  });

  it('affects nobody when nothing is removed', () => {
    expect(editImpact(before, before, [{ actionId: 'w1', count: 5 }])).toEqual({
      affected: 0,
      removedActionIds: [],
      byAction: [],
      retypedActionIds: [],
      newActions: [],
      reached: { count: 0, upTo: false },
    });
  });

  it('counts entries at an id neither tree has (already stale)', () => {
    expect(editImpact(before, before, [{ actionId: 'ghost', count: 2 }]).byAction).toEqual([{ actionId: 'ghost', type: null, count: 2 }]);
  });

  it('flags ids kept with another type', () => {
    const after = [act.webhook('w1'), act.condition('c1', [rule], [act.wait('w2'), act.webhook('h1')], [act.wait('w3')])];
    expect(editImpact(before, after, []).retypedActionIds).toEqual(['w1']);
  });

  it('sees entries on every branch of a Wait for event and every path of a Random split', () => {
    const opened = { type: 'email_opened' as const, emailIds: { sentBy: 's1' } };
    const old = [
      act.sendEmail('s1', 5),
      act.waitForEvent('we', opened, [act.split('rs', [50, 30, 20], [[act.wait('p1')], [act.webhook('p2')], [act.wait('p3')]])], [act.wait('late')]),
    ];
    // The third path goes (its share moves to the others), and the No branch's Wait becomes a Send Email.
    const edited = [
      act.sendEmail('s1', 5),
      act.waitForEvent('we', opened, [act.split('rs', [50, 50], [[act.wait('p1')], [act.webhook('p2')]])], [act.sendEmail('late', 6)]),
    ];
    const impact = editImpact(old, edited, [
      { actionId: 'we', count: 9 },
      { actionId: 'p2', count: 4 },
      { actionId: 'p3', count: 6 },
      { actionId: 'late', count: 2 },
    ]);
    expect(impact).toEqual({
      affected: 6,
      removedActionIds: ['p3'],
      byAction: [{ actionId: 'p3', type: 'wait', count: 6 }],
      retypedActionIds: ['late'],
      newActions: [],
      reached: { count: 0, upTo: false },
    });
  });
});

describe(`${editImpact.name}: entries that will run the added actions`, () => {
  it('counts the entries waiting before an action added after their Wait (they run it when they wake)', () => {
    const impact = editImpact([act.wait('w1')], [act.wait('w1'), act.setField('new', 10, 'x')], [{ actionId: 'w1', count: 50 }]);
    expect(impact.affected).toBe(0);
    expect(impact.newActions).toEqual([{ actionId: 'new', type: 'update_custom_field', count: 50, upTo: false }]);
    expect(impact.reached).toEqual({ count: 50, upTo: false });
  });

  it('lists every added action, also one nobody stands before (0), in tree order', () => {
    const impact = editImpact(
      [act.wait('w1'), act.wait('w2')],
      [act.setField('first', 10, 'x'), act.wait('w1'), act.webhook('middle'), act.wait('w2'), act.webhook('last')],
      [
        { actionId: 'w1', count: 7 },
        { actionId: 'w2', count: 3 },
      ],
    );
    expect(impact.newActions).toEqual([
      { actionId: 'first', type: 'update_custom_field', count: 0, upTo: false },
      { actionId: 'middle', type: 'webhook', count: 7, upTo: false },
      { actionId: 'last', type: 'webhook', count: 10, upTo: false },
    ]);
    expect(impact.reached).toEqual({ count: 10, upTo: false });
  });

  it('says "up to" for an action inside a branch: entries before the Yes/No may take the other branch', () => {
    const old = [act.wait('w1'), act.condition('c1', [rule], [act.wait('y1')], [act.wait('n1')])];
    const edited = [act.wait('w1'), act.condition('c1', [rule], [act.wait('y1'), act.webhook('new-yes')], [act.wait('n1')])];
    const positions = [
      { actionId: 'w1', count: 10 },
      { actionId: 'y1', count: 3 },
      { actionId: 'n1', count: 4 },
    ];
    // The 3 at y1 will run it; of the 10 at w1 only those that go Yes will. The 4 on the No branch never will.
    expect(editImpact(old, edited, positions)).toMatchObject({
      newActions: [{ actionId: 'new-yes', type: 'webhook', count: 13, upTo: true }],
      reached: { count: 13, upTo: true },
    });
    expect(editImpact(old, edited, [{ actionId: 'y1', count: 3 }]).newActions).toEqual([{ actionId: 'new-yes', type: 'webhook', count: 3, upTo: false }]);
  });

  it('says "up to" for the paths of a Random split and the branches of a Wait for event an entry waits at', () => {
    const opened = { type: 'email_opened' as const, emailIds: 'any' as const };
    const old = [act.waitForEvent('we', opened, [act.split('rs', [50, 50], [[], []])], [])];
    const edited = [act.waitForEvent('we', opened, [act.split('rs', [50, 50], [[act.sendEmail('mail-a', 5)], []])], [act.webhook('no-hook')])];
    expect(editImpact(old, edited, [{ actionId: 'we', count: 8 }]).newActions).toEqual([
      { actionId: 'mail-a', type: 'send_email', count: 8, upTo: true },
      { actionId: 'no-hook', type: 'webhook', count: 8, upTo: true },
    ]);
  });

  it('counts entries not started yet (no action) before everything, and entries at removed actions nowhere (they leave)', () => {
    const positions: ActionPositionCount[] = [
      { actionId: null, count: 2 },
      { actionId: 'gone', count: 5 },
    ];
    const impact = editImpact([act.wait('gone')], [act.webhook('new')], positions);
    expect(impact.affected).toBe(5);
    expect(impact.byAction).toEqual([{ actionId: 'gone', type: 'wait', count: 5 }]);
    expect(impact.newActions).toEqual([{ actionId: 'new', type: 'webhook', count: 2, upTo: false }]);
  });

  it('does not count an action after an Exit This Journey: nobody gets past it', () => {
    const impact = editImpact([act.wait('w1'), act.exitThis('x')], [act.wait('w1'), act.exitThis('x'), act.webhook('dead')], [{ actionId: 'w1', count: 9 }]);
    expect(impact.newActions).toEqual([{ actionId: 'dead', type: 'webhook', count: 0, upTo: false }]);
  });
});

/* ---------- properties over random trees ---------- */

const isGold: ConditionRule = { attribute: 'CustomField:7', operator: 'equals', value: 'gold' };
type Node = { kind: 'wait' | 'field' | 'hook' | 'exit' } | { kind: 'condition'; yes: Node[]; no: Node[] } | { kind: 'split'; paths: Node[][] };

const { tree: nodesArb } = fc.letrec<{ tree: Node[]; node: Node }>((tie) => ({
  tree: fc.array(tie('node'), { maxLength: 4 }),
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ kind: fc.constantFrom('wait' as const, 'field' as const, 'hook' as const, 'exit' as const) }),
    fc.record({ kind: fc.constant('condition' as const), yes: tie('tree'), no: tie('tree') }),
    fc.record({ kind: fc.constant('split' as const), paths: fc.array(tie('tree'), { minLength: 2, maxLength: 3 }) }),
  ),
}));

/** Percentages of 2–3 paths that add up to 100, e.g. [34, 33, 33]. */
const evenShares = (n: number): number[] => Array.from({ length: n }, (_, i) => Math.floor(100 / n) + (i === 0 ? 100 % n : 0));

/** Actions with ids a1, a2… in depth-first order. */
function toActions(nodes: Node[], next = { n: 0 }): Action[] {
  return nodes.map((node): Action => {
    const id = `a${++next.n}`;
    switch (node.kind) {
      case 'wait':
        return act.wait(id);
      case 'field':
        return act.setField(id, 10, 'x');
      case 'hook':
        return act.webhook(id);
      case 'exit':
        return act.exitThis(id);
      case 'condition':
        return act.condition(id, [isGold], toActions(node.yes, next), toActions(node.no, next));
      case 'split':
        return act.split(
          id,
          evenShares(node.paths.length),
          node.paths.map((path) => toActions(path, next)),
        );
    }
  });
}

/** A journey edit: the new tree, and the old one made of the actions it had before (those not picked as added). */
const editArb = nodesArb.chain((nodes) => {
  const edited = toActions(nodes);
  const ids = allActions(edited).map((a) => a.id);
  return fc.record({
    edited: fc.constant(edited),
    added: fc.subarray(ids),
    positions: fc.array(fc.record({ actionId: fc.constantFrom<string | null>(null, 'removed', ...ids), count: fc.integer({ min: 0, max: 50 }) }), {
      maxLength: 6,
    }),
  });
});
const oldTreeOf = (edited: Action[], added: string[]): Action[] => [
  ...allActions(edited)
    .filter((a) => !added.includes(a.id))
    .map((a) => act.wait(a.id)),
  act.wait('removed'),
];

describe(`${editImpact.name} (properties)`, () => {
  it('an edit that adds nothing reaches nobody with a new action', () => {
    fc.assert(
      fc.property(editArb, ({ edited, positions }) => {
        expect(editImpact(edited, edited, positions).newActions).toEqual([]);
      }),
    );
  });

  it('lists each added action once, and never more entries than stay in the journey', () => {
    fc.assert(
      fc.property(editArb, ({ edited, added, positions }) => {
        const impact = editImpact(oldTreeOf(edited, added), edited, positions);
        const live = positions.reduce((sum, p) => sum + p.count, 0);
        expect(impact.newActions.map((n) => n.actionId).sort()).toEqual([...added].sort());
        // Each entry counted once over all added actions, never one that leaves; each action's count within that.
        expect(impact.reached.count).toBeLessThanOrEqual(live - impact.affected);
        for (const reached of impact.newActions) expect(reached.count).toBeLessThanOrEqual(impact.reached.count);
        if (impact.reached.count > 0 && !impact.reached.upTo) expect(impact.newActions.some((n) => !n.upTo && n.count > 0)).toBe(true);
      }),
    );
  });

  it('counts every added action the engine runs for an entry resuming where it stands, whichever branch it takes', () => {
    fc.assert(
      fc.property(editArb, fc.constantFrom('gold', 'silver'), fc.string({ maxLength: 4 }), ({ edited, added, positions }, plan, entryKey) => {
        for (const { actionId } of positions) {
          if (actionId === 'removed') continue;
          const impact = editImpact(oldTreeOf(edited, added), edited, [{ actionId, count: 1 }]);
          const result = advance({
            journey: aJourney(edited),
            start: actionId === null ? { from: 'beginning' } : { from: 'after', actionId },
            facts: someFacts({ subscriber: { ...someFacts().subscriber, customFields: { 7: plan } } }),
            now: new Date('2025-01-06T10:00:00Z'),
            entry: { key: entryKey, enteredAt: new Date(0) },
          });
          const runs = result.ran.map((r) => r.actionId);
          if (result.outcome.kind === 'external') runs.push(result.outcome.action.id);
          const counted = new Set(impact.newActions.filter((n) => n.count === 1).map((n) => n.actionId));
          for (const id of runs.filter((r) => added.includes(r))) expect(counted).toContain(id);
        }
      }),
    );
  });
});
