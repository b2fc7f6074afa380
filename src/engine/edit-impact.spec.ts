import { editImpact } from './edit-impact';
import { act } from './engine.fixtures';

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
    expect(editImpact(before, before, [{ actionId: 'w1', count: 5 }])).toEqual({ affected: 0, removedActionIds: [], byAction: [], retypedActionIds: [] });
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
    expect(impact).toEqual({ affected: 6, removedActionIds: ['p3'], byAction: [{ actionId: 'p3', type: 'wait', count: 6 }], retypedActionIds: ['late'] });
  });
});
