import { headersFromText } from './action-settings.form';
import { applyOp, draftFromForm, opFromForm } from './actions.form';
import { treeShape, type DraftAction } from './draft-tree';

describe('draftFromForm', () => {
  it('builds the tree from the shape field and each action from its own fields', () => {
    const draft = draftFromForm({
      tree: JSON.stringify([{ id: 'w1' }, { id: 'c1', yes: [{ id: 'h1' }], no: [] }]),
      'a.w1.type': 'wait',
      'a.w1.amount': '2',
      'a.w1.unit': 'hours',
      'a.w1.notBefore': '09:00',
      'a.w1.weekdays': ['1', '2'],
      'a.c1.type': 'condition',
      'a.c1.match': 'any',
      'a.c1.rule.0.attribute': 'EmailAddress',
      'a.c1.rule.0.operator': 'ends_with',
      'a.c1.rule.0.value': '@x.com',
      'a.c1.rule.3.attribute': 'Opens',
      'a.c1.rule.3.operator': 'at_least',
      'a.c1.rule.3.value': '2',
      'a.c1.rule.3.emails': '7',
      'a.h1.type': 'webhook',
      'a.h1.url': 'https://h.example/in',
      'a.h1.method': 'PUT',
      'a.h1.headers': 'X-Key: 1\nbad line\nX-Other:  two ',
    });
    expect(draft).toEqual([
      { id: 'w1', type: 'wait', settings: { amount: 2, unit: 'hours', window: { notBefore: '09:00', weekdays: [1, 2] } } },
      {
        id: 'c1',
        type: 'condition',
        settings: {
          match: 'any',
          rules: [
            { attribute: 'EmailAddress', operator: 'ends_with', value: '@x.com' },
            { attribute: 'Opens', operator: 'at_least', value: '2', emailIds: [7] },
          ],
        },
        yes: [
          {
            id: 'h1',
            type: 'webhook',
            settings: { url: 'https://h.example/in', method: 'PUT', headers: { 'X-Key': '1', 'X-Other': 'two' }, includeCustomFields: false },
          },
        ],
        no: [],
      },
    ]);
  });

  it('keeps what cannot be read as typed, for the validator to name', () => {
    const [wait] = draftFromForm({ tree: '[{"id":"w1"}]', 'a.w1.type': 'wait', 'a.w1.amount': 'soon', 'a.w1.unit': 'days' });
    expect(wait.settings.amount).toBe('soon');
  });

  it('drops bad or repeated ids and survives a broken shape', () => {
    expect(draftFromForm({ tree: 'not json' })).toEqual([]);
    const draft = draftFromForm({ tree: JSON.stringify([{ id: 'a b' }, { id: 'x1' }, { id: 'x1' }, { id: '__proto__' }]), 'a.x1.type': 'exit_this_journey' });
    expect(draft.map((a) => a.id)).toEqual(['x1', '__proto__']);
  });
});

describe('opFromForm', () => {
  it('reads each editing button, and treats anything else as save', () => {
    expect(opFromForm({ op: 'add:after.w1:webhook' })).toEqual({ kind: 'add', slot: { at: 'after', id: 'w1' }, type: 'webhook' });
    expect(opFromForm({ op: 'add:yes.c1:wait' })).toEqual({ kind: 'add', slot: { at: 'branch', branch: 'yes', id: 'c1' }, type: 'wait' });
    expect(opFromForm({ op: 'add:root:nonsense' })).toEqual({ kind: 'save', confirmed: false });
    expect(opFromForm({ op: 'remove-rule:c1:2' })).toEqual({ kind: 'remove-rule', id: 'c1', rule: 2 });
    expect(opFromForm({ op: 'save-confirmed' })).toEqual({ kind: 'save', confirmed: true });
    expect(opFromForm({})).toEqual({ kind: 'save', confirmed: false });
  });
});

describe('applyOp', () => {
  const tree: DraftAction[] = [
    { id: 'w1', type: 'wait', settings: { amount: 1, unit: 'days' } },
    {
      id: 'c1',
      type: 'condition',
      settings: { match: 'all', rules: [{ attribute: 'EmailAddress', operator: 'contains', value: 'a' }] },
      yes: [{ id: 'h1', type: 'webhook', settings: {} }],
      no: [],
    },
  ];
  const ids = (t: DraftAction[]) => JSON.stringify(treeShape(t));

  it('adds at the start, after an action and at the start of a branch', () => {
    expect(ids(applyOp(tree, { kind: 'add', slot: { at: 'root' }, type: 'subscribe' }, () => 'n1'))).toBe(
      '[{"id":"n1"},{"id":"w1"},{"id":"c1","yes":[{"id":"h1"}],"no":[]}]',
    );
    expect(ids(applyOp(tree, { kind: 'add', slot: { at: 'after', id: 'h1' }, type: 'wait' }, () => 'n1'))).toBe(
      '[{"id":"w1"},{"id":"c1","yes":[{"id":"h1"},{"id":"n1"}],"no":[]}]',
    );
    expect(ids(applyOp(tree, { kind: 'add', slot: { at: 'branch', branch: 'no', id: 'c1' }, type: 'condition' }, () => 'n1'))).toBe(
      '[{"id":"w1"},{"id":"c1","yes":[{"id":"h1"}],"no":[{"id":"n1","yes":[],"no":[]}]}]',
    );
  });

  it('moves within its own list, and not past its ends', () => {
    expect(ids(applyOp(tree, { kind: 'down', id: 'w1' }))).toBe('[{"id":"c1","yes":[{"id":"h1"}],"no":[]},{"id":"w1"}]');
    expect(applyOp(tree, { kind: 'up', id: 'w1' })).toEqual(tree);
    expect(applyOp(tree, { kind: 'down', id: 'h1' })).toEqual(tree);
  });

  it('removes an action with its branches, and adds and removes rules', () => {
    expect(ids(applyOp(tree, { kind: 'remove', id: 'c1' }))).toBe('[{"id":"w1"}]');
    const twoRules = applyOp(tree, { kind: 'add-rule', id: 'c1' });
    expect((twoRules[1].settings.rules as unknown[]).length).toBe(2);
    expect((applyOp(twoRules, { kind: 'remove-rule', id: 'c1', rule: 0 })[1].settings.rules as unknown[]).length).toBe(1);
  });

  it('leaves the input tree alone', () => {
    const before = JSON.stringify(tree);
    applyOp(tree, { kind: 'remove', id: 'w1' });
    expect(JSON.stringify(tree)).toBe(before);
  });
});

describe('headersFromText', () => {
  it('reads "Name: value" lines and skips the rest', () => {
    expect(headersFromText('A: 1\r\n: nameless\nnocolon\nB:x:y')).toEqual({ A: '1', B: 'x:y' });
  });
});
