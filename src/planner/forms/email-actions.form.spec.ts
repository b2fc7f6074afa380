/**
 * The planner form's shapes for Send Email, Wait for event and Random split:
 * what the fields become, how branches other than Yes/No (a split's paths)
 * travel in the tree shape, and the editing buttons of a split. The last test
 * feeds the drafts to the engine's parser: what the form builds is what the
 * engine accepts.
 */
import { aContext, idSequence } from '../../engine/engine.fixtures';
import { parseActions } from '../../engine/validate-journey';
import { evenPercents } from './action-settings.form';
import { applyOp, draftFromForm, opFromForm } from './actions.form';
import { draftBranches, sendersBefore, treeShape, type DraftAction } from './draft-tree';

/** The form of a journey: Send Email s1 → Wait for event w1 on s1's email → Yes: Random split r1 (Path B holds x1). */
const emailJourneyForm = {
  tree: JSON.stringify([{ id: 's1' }, { id: 'w1', yes: [{ id: 'r1', paths: [[], [{ id: 'x1' }]] }], no: [] }]),
  'a.s1.type': 'send_email',
  'a.s1.emailId': '5',
  'a.s1.whenUndeliverable': 'exit',
  'a.w1.type': 'wait_for_event',
  'a.w1.event': 'email_opened',
  'a.w1.emailTarget': 'sentBy',
  'a.w1.sentBy': 's1',
  'a.w1.emailIds': '6',
  'a.w1.amount': '2',
  'a.w1.unit': 'days',
  'a.w1.notBefore': '09:00',
  'a.w1.weekdays': ['1', '2', '3', '4', '5'],
  'a.r1.type': 'random_split',
  'a.r1.percent': ['70', '30'],
  'a.x1.type': 'exit_this_journey',
};

const expectedTree = [
  { id: 's1', type: 'send_email', settings: { emailId: 5, whenUndeliverable: 'exit' } },
  {
    id: 'w1',
    type: 'wait_for_event',
    settings: {
      event: { type: 'email_opened', emailIds: { sentBy: 's1' } },
      timeout: { amount: 2, unit: 'days', window: { notBefore: '09:00', weekdays: [1, 2, 3, 4, 5] } },
    },
    yes: [{ id: 'r1', type: 'random_split', settings: { percents: [70, 30] }, paths: [[], [{ id: 'x1', type: 'exit_this_journey', settings: {} }]] }],
    no: [],
  },
];

describe('draftFromForm with email and split actions', () => {
  it('reads Send Email, a Wait for event on the email a Send Email sent, and a split with its paths from the shape', () => {
    expect(draftFromForm(emailJourneyForm)).toEqual(expectedTree);
  });

  it('reads the other ways a Wait for event names its email, a click with its link, and a conversion with channel and minimum', () => {
    const draft = draftFromForm({
      tree: JSON.stringify([{ id: 'c' }, { id: 'v' }, { id: 'o' }]),
      'a.c.type': 'wait_for_event',
      'a.c.event': 'link_clicked',
      'a.c.emailTarget': 'chosen',
      'a.c.emailIds': ['5', '6'],
      'a.c.linkMatch': 'pattern',
      'a.c.link': 'https://shop.example.com/*',
      'a.c.channel': 'ignored for a click',
      'a.c.amount': '3',
      'a.c.unit': 'hours',
      'a.v.type': 'wait_for_event',
      'a.v.event': 'conversion',
      'a.v.emailTarget': 'any',
      'a.v.channel': 'shop',
      'a.v.minValue': '19.5',
      'a.v.amount': '1',
      'a.v.unit': 'days',
      'a.o.type': 'wait_for_event',
      'a.o.emailTarget': 'chosen',
      'a.o.amount': '1',
      'a.o.unit': 'days',
    });
    expect(draft.map((a) => a.settings.event)).toEqual([
      { type: 'link_clicked', emailIds: [5, 6], link: { match: 'pattern', value: 'https://shop.example.com/*' } },
      { type: 'conversion', emailIds: 'any', channel: 'shop', minValue: 19.5 },
      // "Chosen emails" with none ticked: an empty choice, for the validator to name.
      { type: 'email_opened', emailIds: [] },
    ]);
    expect(draft.every((a) => Array.isArray(a.yes) && Array.isArray(a.no))).toBe(true);
  });

  it('keeps a blank percentage in its place, gives every percentage a path, and keeps a path the shape has beyond them', () => {
    const [split] = draftFromForm({ tree: JSON.stringify([{ id: 'r', paths: [[{ id: 'a' }]] }]), 'a.r.type': 'random_split', 'a.r.percent': ['60', '', '40'] });
    expect(split.settings.percents).toEqual([60, undefined, 40]);
    expect(split.paths!.map((p) => p.map((a) => a.id))).toEqual([['a'], [], []]);
    const [wide] = draftFromForm({ tree: JSON.stringify([{ id: 'r', paths: [[], [], []] }]), 'a.r.type': 'random_split', 'a.r.percent': ['50', '50'] });
    expect(wide.paths).toHaveLength(3);
  });

  it('writes the shape back with the paths where the split keeps them', () => {
    expect(JSON.parse(emailJourneyForm.tree)).toEqual(treeShape(draftFromForm(emailJourneyForm)));
  });

  it('builds what the engine accepts, and the engine names what is wrong with a bad one', () => {
    expect(parseActions(draftFromForm(emailJourneyForm), aContext(), idSequence())).toEqual({ actions: expectedTree, violations: [] });
    const bad = draftFromForm({ ...emailJourneyForm, 'a.r1.percent': ['70', '40'], 'a.w1.sentBy': 'gone' });
    expect(parseActions(bad, aContext(), idSequence()).violations.map((v) => [v.actionId, v.message])).toEqual([
      ['r1', 'The percentages add up to 110; they must add up to 100'],
      ['w1', 'Wait for event: "gone" is not a Send Email action of this journey'],
    ]);
  });
});

describe('planner operations on splits and Wait for event', () => {
  const split = (): DraftAction[] => [
    {
      id: 'r1',
      type: 'random_split',
      settings: { percents: [70, 30] },
      paths: [[{ id: 'a', type: 'wait', settings: {} }], [{ id: 'b', type: 'wait', settings: {} }]],
    },
  ];
  const ids = (t: DraftAction[]) => JSON.stringify(treeShape(t));

  it('reads the slots of every branch and the path buttons; a path beyond the fifth is no slot', () => {
    expect(opFromForm({ op: 'add:path2.r1:wait' })).toEqual({ kind: 'add', slot: { at: 'branch', branch: 'path2', id: 'r1' }, type: 'wait' });
    expect(opFromForm({ op: 'add:path6.r1:wait' })).toEqual({ kind: 'save', confirmed: false });
    expect(opFromForm({ op: 'add:maybe.r1:wait' })).toEqual({ kind: 'save', confirmed: false });
    expect(opFromForm({ op: 'add-path:r1' })).toEqual({ kind: 'add-path', id: 'r1' });
    expect(opFromForm({ op: 'remove-path:r1:1' })).toEqual({ kind: 'remove-path', id: 'r1', path: 1 });
  });

  it('adds an action at the start of a path, and moves and removes inside it', () => {
    const added = applyOp(split(), { kind: 'add', slot: { at: 'branch', branch: 'path2', id: 'r1' }, type: 'send_email' }, () => 'n1');
    expect(ids(added)).toBe('[{"id":"r1","paths":[[{"id":"a"}],[{"id":"n1"},{"id":"b"}]]}]');
    expect(ids(applyOp(added, { kind: 'down', id: 'n1' }))).toBe('[{"id":"r1","paths":[[{"id":"a"}],[{"id":"b"},{"id":"n1"}]]}]');
    expect(ids(applyOp(added, { kind: 'remove', id: 'b' }))).toBe('[{"id":"r1","paths":[[{"id":"a"}],[{"id":"n1"}]]}]');
    expect(ids(applyOp(added, { kind: 'remove', id: 'r1' }))).toBe('[]');
  });

  it('adds a path (up to five) and removes one with its actions (down to two), sharing the percentages evenly again', () => {
    let tree = applyOp(split(), { kind: 'add-path', id: 'r1' });
    expect(tree[0].settings.percents).toEqual([34, 33, 33]);
    expect(ids(tree)).toBe('[{"id":"r1","paths":[[{"id":"a"}],[{"id":"b"}],[]]}]');
    tree = applyOp(tree, { kind: 'remove-path', id: 'r1', path: 0 });
    expect(ids(tree)).toBe('[{"id":"r1","paths":[[{"id":"b"}],[]]}]');
    expect(tree[0].settings.percents).toEqual([50, 50]);
    // Not below two, not above five, not a path it does not have.
    expect(applyOp(tree, { kind: 'remove-path', id: 'r1', path: 1 })).toEqual(tree);
    for (let i = 0; i < 5; i++) tree = applyOp(tree, { kind: 'add-path', id: 'r1' });
    expect(tree[0].paths).toHaveLength(5);
    expect(tree[0].settings.percents).toEqual([20, 20, 20, 20, 20]);
    expect(applyOp(tree, { kind: 'remove-path', id: 'r1', path: 7 })).toEqual(tree);
  });

  it('gives a new split and a new Wait for event their empty branches, the Wait for event the nearest Send Email before it', () => {
    const tree: DraftAction[] = [
      { id: 's1', type: 'send_email', settings: { emailId: 5 } },
      { id: 's2', type: 'send_email', settings: { emailId: 6 } },
    ];
    const withWait = applyOp(tree, { kind: 'add', slot: { at: 'after', id: 's2' }, type: 'wait_for_event' }, () => 'w1');
    expect(withWait[2]).toMatchObject({ settings: { event: { type: 'email_opened', emailIds: { sentBy: 's2' } } }, yes: [], no: [] });
    expect(sendersBefore(withWait, 'w1').map((a) => a.id)).toEqual(['s1', 's2']);
    const first = applyOp([], { kind: 'add', slot: { at: 'root' }, type: 'wait_for_event' }, () => 'w0');
    expect(first[0].settings.event).toEqual({ type: 'email_opened', emailIds: 'any' });
    const withSplit = applyOp(withWait, { kind: 'add', slot: { at: 'branch', branch: 'yes', id: 'w1' }, type: 'random_split' }, () => 'r1');
    expect(draftBranches(withSplit[2].yes![0]).map((b) => [b.key, b.label, b.actions])).toEqual([
      ['path1', 'Path A', []],
      ['path2', 'Path B', []],
    ]);
    // A Send Email inside the split's path runs before actions later in that path only.
    const nested = applyOp(withSplit, { kind: 'add', slot: { at: 'branch', branch: 'path1', id: 'r1' }, type: 'send_email' }, () => 's3');
    const deeper = applyOp(nested, { kind: 'add', slot: { at: 'after', id: 's3' }, type: 'wait_for_event' }, () => 'w2');
    expect(sendersBefore(deeper, 'w2').map((a) => a.id)).toEqual(['s1', 's2', 's3']);
    expect(sendersBefore(deeper, 'w1').map((a) => a.id)).toEqual(['s1', 's2']);
  });

  it('shares percentages evenly in whole numbers', () => {
    expect([2, 3, 4, 5].map(evenPercents)).toEqual([
      [50, 50],
      [34, 33, 33],
      [25, 25, 25, 25],
      [20, 20, 20, 20, 20],
    ]);
  });
});
