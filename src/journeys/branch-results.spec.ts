import { branchesOf } from '../engine/action-tree';
import { act, aJourney, anEvent, someFacts } from '../engine/engine.fixtures';
import type { Action } from '../engine/journey.types';
import { advance } from '../engine/step';
import type { StepInput } from '../engine/step.types';
import { branchTaken } from './branch-results';

const NOW = new Date('2025-01-06T10:00:00Z');
const HOUR = 3600_000;

/** Runs a journey whose first action branches, each branch starting with a marker action; returns the log Result of the branching action and the branch the walk went into. */
function takeBranch(branching: Action, overrides: Partial<StepInput> = {}): { result: string | undefined; entered: string | undefined } {
  const result = advance({ journey: aJourney([branching]), start: { from: 'beginning' }, facts: someFacts(), now: NOW, ...overrides });
  const [logged, next] = result.ran;
  const entered = branchesOf(branching).find((branch) => branch.actions[0]?.id === next?.actionId)?.key;
  return { result: logged?.result, entered };
}

const marker = (id: string) => act.exitThis(id);

describe(branchTaken.name, () => {
  it('names the branch a Yes/No condition took, as the engine logs it', () => {
    const yes = act.condition('c', [{ attribute: 'CustomField:7', operator: 'equals', value: 'Gold' }], [marker('y')], [marker('n')]);
    const no = act.condition('c', [{ attribute: 'CustomField:7', operator: 'equals', value: 'Silver' }], [marker('y')], [marker('n')]);
    for (const condition of [yes, no]) {
      const { result, entered } = takeBranch(condition);
      expect(branchTaken(result)).toBe(entered);
    }
  });

  it('names the branch a Wait for event took: Yes on the event, No at the timeout', () => {
    const wait = act.waitForEvent('w', { type: 'email_opened', emailIds: 'any' }, [marker('y')], [marker('n')], 1);
    const since = new Date(NOW.getTime() - 2 * HOUR);
    const opened = takeBranch(wait, {
      start: { from: 'waiting', actionId: 'w', since, until: new Date(NOW.getTime() + HOUR) },
      facts: someFacts({ events: [anEvent({ eventId: 'opened-7', occurredAt: new Date(NOW.getTime() - HOUR) })] }),
    });
    expect(opened.result).toBe('yes: opened-7');
    expect(branchTaken(opened.result)).toBe('yes');
    expect(opened.entered).toBe('yes');
    const timedOut = takeBranch(wait, { start: { from: 'waiting', actionId: 'w', since, until: new Date(NOW.getTime() - HOUR) } });
    expect(branchTaken(timedOut.result)).toBe(timedOut.entered);
    expect(timedOut.entered).toBe('no');
  });

  it('names every path of a split, whichever an entry takes', () => {
    const split = act.split('r', [20, 20, 20, 20, 20], [[marker('p1')], [marker('p2')], [marker('p3')], [marker('p4')], [marker('p5')]]);
    const seen = new Set<string>();
    for (let n = 0; n < 200; n++) {
      const { result, entered } = takeBranch(split, { entry: { key: `entry-${n}`, enteredAt: NOW } });
      expect(branchTaken(result)).toBe(entered);
      seen.add(entered!);
    }
    expect([...seen].sort()).toEqual(['path1', 'path2', 'path3', 'path4', 'path5']);
  });

  it('names no branch for other results', () => {
    expect([null, undefined, '', 'sent #outbox-1', '2026-01-01T00:00:00.000Z', 'path F', 'yesterday'].map(branchTaken)).toEqual([
      null,
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
  });
});
