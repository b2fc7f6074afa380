import type { FunnelStep } from '../journeys/journey.dto';
import { funnelChart } from './funnel-chart';

const step = (actionId: string, label: string, reached: number, branch: [string, string, string] | null = null): FunnelStep => ({
  actionId,
  type: 'wait',
  label,
  depth: branch ? 1 : 0,
  branch: branch?.[0] ?? null,
  branchLabel: branch?.[1] ?? null,
  parentActionId: branch?.[2] ?? null,
  reached,
});

describe(funnelChart.name, () => {
  it('draws one bar per action after "Entered", scaled to the largest count', () => {
    const chart = funnelChart({
      entered: 10,
      converted: 0,
      hasGoal: false,
      steps: [step('w1', 'Wait 1 day', 10), step('c1', 'Yes/No condition', 5), step('h1', 'Webhook', 0, ['yes', 'Yes', 'c1'])],
    });
    expect(chart.bars.map((b) => [b.label, b.count, b.percent, b.branch])).toEqual([
      ['Entered the journey', 10, '100%', ''],
      ['Wait 1 day', 10, '100%', ''],
      ['Yes/No condition', 5, '50%', ''],
      ['Webhook', 0, '0%', 'Yes › '],
    ]);
    expect(chart.bars[2].width * 2).toBe(chart.bars[1].width);
    expect(chart.bars[3].width).toBe(0);
    expect(chart.bars[3].labelX).toBeGreaterThan(chart.bars[2].labelX);
    expect(chart.height).toBeGreaterThan(4 * 30);
  });

  it('names the path of a split, and ends with a "Converted" bar and its rate when the journey has a goal', () => {
    const chart = funnelChart({
      entered: 8,
      converted: 2,
      hasGoal: true,
      steps: [step('r1', 'Random split', 8), step('a', 'Send Email', 4, ['path1', 'Path A', 'r1']), step('b', 'Send Email', 4, ['path2', 'Path B', 'r1'])],
    });
    expect(chart.bars.map((b) => [b.label, b.count, b.percent, b.branch, b.converted])).toEqual([
      ['Entered the journey', 8, '100%', '', false],
      ['Random split', 8, '100%', '', false],
      ['Send Email', 4, '50%', 'Path A › ', false],
      ['Send Email', 4, '50%', 'Path B › ', false],
      ['Converted (met the goal)', 2, '25%', '', true],
    ]);
    expect(chart.description).toContain('Converted (met the goal): 2');
    // Entries converted before the goal was removed are still shown; nothing converted and no goal: no bar.
    expect(funnelChart({ entered: 8, converted: 1, hasGoal: false, steps: [] }).bars.at(-1)?.converted).toBe(true);
    expect(funnelChart({ entered: 8, converted: 0, hasGoal: false, steps: [] }).bars.map((b) => b.label)).toEqual(['Entered the journey']);
  });

  it('draws an empty journey without dividing by zero', () => {
    const chart = funnelChart({ entered: 0, converted: 0, hasGoal: true, steps: [] });
    expect(chart.bars).toHaveLength(2);
    expect(chart.bars[0]).toMatchObject({ count: 0, width: 0, percent: '' });
    expect(chart.bars[1]).toMatchObject({ count: 0, width: 0, percent: '', converted: true });
  });
});
