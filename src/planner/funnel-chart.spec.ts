import { funnelChart } from './funnel-chart';

describe(funnelChart.name, () => {
  it('draws one bar per action after "Entered", scaled to the largest count', () => {
    const chart = funnelChart({
      entered: 10,
      steps: [
        { actionId: 'w1', type: 'wait', label: 'Wait 1 day', depth: 0, branch: null, parentActionId: null, reached: 10 },
        { actionId: 'c1', type: 'condition', label: 'Yes/No condition', depth: 0, branch: null, parentActionId: null, reached: 5 },
        { actionId: 'h1', type: 'webhook', label: 'Webhook', depth: 1, branch: 'yes', parentActionId: 'c1', reached: 0 },
      ],
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

  it('draws an empty journey without dividing by zero', () => {
    const chart = funnelChart({ entered: 0, steps: [] });
    expect(chart.bars).toHaveLength(1);
    expect(chart.bars[0]).toMatchObject({ count: 0, width: 0, percent: '' });
  });
});
