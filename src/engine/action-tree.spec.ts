import { actionIds, actionPath, allActions, branchesTo, findAction, nextAfter, reachableFrom, treeDepth } from './action-tree';
import { act } from './engine.fixtures';

const rule = { attribute: 'EmailAddress' as const, operator: 'is_set' as const };
const tree = [
  act.wait('w1'),
  act.condition(
    'c1',
    [rule],
    [act.setField('y1', 7, 'x'), act.condition('c2', [rule], [act.exitThis('yy1')], [act.webhook('yn1')])],
    [act.subscribe('n1', 2), act.wait('n2')],
  ),
];

describe(allActions.name, () => {
  it('lists every action depth-first, a condition before its Yes then its No branch', () => {
    expect(allActions(tree).map((a) => a.id)).toEqual(['w1', 'c1', 'y1', 'c2', 'yy1', 'yn1', 'n1', 'n2']);
  });

  it('is empty for an empty tree', () => {
    expect(allActions([])).toEqual([]);
  });
});

describe(actionIds.name, () => {
  it('collects the ids of nested actions', () => {
    expect([...actionIds(tree)].sort()).toEqual(['c1', 'c2', 'n1', 'n2', 'w1', 'y1', 'yn1', 'yy1']);
  });
});

describe(findAction.name, () => {
  it('finds an action deep in a branch', () => {
    expect(findAction(tree, 'yn1')?.type).toBe('webhook');
  });

  it('answers undefined for an id the tree does not have', () => {
    expect(findAction(tree, 'gone')).toBeUndefined();
  });
});

describe(actionPath.name, () => {
  it('gives the list and index at each level down to the action', () => {
    const path = actionPath(tree, 'yy1')!;
    expect(path.map((p) => p.index)).toEqual([1, 1, 0]);
    expect(path[0].list).toBe(tree);
  });
});

describe(nextAfter.name, () => {
  it('is the next action of the same list', () => {
    expect(nextAfter(tree, 'n1')?.id).toBe('n2');
    expect(nextAfter(tree, 'w1')?.id).toBe('c1');
  });

  it('is null at the end of a branch: branches do not rejoin', () => {
    expect(nextAfter(tree, 'n2')).toBeNull();
    expect(nextAfter(tree, 'yy1')).toBeNull();
  });

  it('is null for an id not in the tree', () => {
    expect(nextAfter(tree, 'gone')).toBeNull();
  });
});

describe(branchesTo.name, () => {
  it('names each condition on the way and the branch taken', () => {
    expect(branchesTo(tree, 'yn1').map((b) => [b.action.id, b.branch.key])).toEqual([
      ['c1', 'yes'],
      ['c2', 'no'],
    ]);
    expect(branchesTo(tree, 'n2').map((b) => b.branch.key)).toEqual(['no']);
    expect(branchesTo(tree, 'w1')).toEqual([]);
  });
});

describe(treeDepth.name, () => {
  it('counts nested branches', () => {
    expect(treeDepth([act.wait('a')])).toBe(0);
    expect(treeDepth(tree)).toBe(2);
  });
});

describe(reachableFrom.name, () => {
  const reach = (actions: typeof tree, from: string | null) => reachableFrom(actions, from).map((r) => `${r.action.id}${r.viaBranch ? '?' : ''}`);

  it('from the start: every action, those inside a branch only maybe (marked ?)', () => {
    // yy1 is an Exit This Journey: nothing after it in its list could run, and it is last there anyway.
    expect(reach(tree, null)).toEqual(['w1', 'c1', 'y1?', 'c2?', 'yy1?', 'yn1?', 'n1?', 'n2?']);
  });

  it('after an action: the rest of its list for sure, the branches of a later branching action maybe', () => {
    expect(reach(tree, 'w1')).toEqual(['c1', 'y1?', 'c2?', 'yy1?', 'yn1?', 'n1?', 'n2?']);
    expect(reach(tree, 'y1')).toEqual(['c2', 'yy1?', 'yn1?']);
    expect(reach(tree, 'n1')).toEqual(['n2']);
  });

  it('never back up or into a sibling branch: branches do not rejoin', () => {
    expect(reach(tree, 'n2')).toEqual([]);
    expect(reach(tree, 'yn1')).toEqual([]);
  });

  it('at a branching action (a Wait for event waiting, a Yes/No to evaluate again): its own branches, maybe', () => {
    const opened = { type: 'email_opened' as const, emailIds: 'any' as const };
    const waiting = [act.waitForEvent('we', opened, [act.wait('y')], [act.split('rs', [50, 50], [[act.webhook('p1')], []])])];
    expect(reach(waiting, 'we')).toEqual(['y?', 'rs?', 'p1?']);
    expect(reach(tree, 'c2')).toEqual(['yy1?', 'yn1?']);
  });

  it('stops at an Exit This Journey: what follows it never runs', () => {
    expect(reach([act.wait('w'), act.exitThis('x'), act.webhook('after')], 'w')).toEqual(['x']);
  });

  it('is empty for an id the tree does not have', () => {
    expect(reachableFrom(tree, 'gone')).toEqual([]);
  });
});
