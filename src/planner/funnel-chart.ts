/**
 * Geometry of the funnel chart, drawn by views/pages/journeys/funnel.hbs as an
 * SVG on the server: one bar per action (plus "Entered"), in tree order, and a
 * last "Converted" bar for a journey with a goal; bars scaled to the widest
 * count. Pure numbers and plain text; the view escapes.
 */
import type { Funnel } from '../journeys/journey.dto';

const ROW = 36;
const BAR = 22;
const LABEL_WIDTH = 280;
const BAR_WIDTH = 420;
const TOP = 8;

export interface FunnelBar {
  y: number;
  textY: number;
  labelX: number;
  label: string;
  branch: string;
  barX: number;
  width: number;
  countX: number;
  count: number;
  percent: string;
  depth: number;
  /** The entries that met the goal (drawn in the goal's colour). */
  converted: boolean;
}

export interface FunnelChart {
  width: number;
  height: number;
  barHeight: number;
  bars: FunnelBar[];
  description: string;
}

export function funnelChart(funnel: Funnel): FunnelChart {
  const rows = [
    { label: 'Entered the journey', reached: funnel.entered, depth: 0, branch: null as string | null, converted: false },
    ...funnel.steps.map((step) => ({ label: step.label, reached: step.reached, depth: step.depth, branch: step.branchLabel, converted: false })),
    ...(funnel.hasGoal || funnel.converted > 0
      ? [{ label: 'Converted (met the goal)', reached: funnel.converted, depth: 0, branch: null, converted: true }]
      : []),
  ];
  const max = Math.max(1, ...rows.map((row) => row.reached));
  const bars = rows.map((row, index): FunnelBar => {
    const y = TOP + index * ROW;
    const width = row.reached === 0 ? 0 : Math.max(2, Math.round((row.reached / max) * BAR_WIDTH));
    return {
      y,
      textY: y + BAR / 2 + 5,
      labelX: 8 + row.depth * 16,
      label: truncate(row.label, 38 - row.depth * 2),
      branch: row.branch ? `${row.branch} › ` : '',
      barX: LABEL_WIDTH,
      width,
      countX: LABEL_WIDTH + width + 8,
      count: row.reached,
      percent: funnel.entered > 0 ? `${Math.round((row.reached / funnel.entered) * 100)}%` : '',
      depth: row.depth,
      converted: row.converted,
    };
  });
  return {
    width: LABEL_WIDTH + BAR_WIDTH + 110,
    height: TOP * 2 + rows.length * ROW,
    barHeight: BAR,
    bars,
    description: rows.map((row) => `${row.label}: ${row.reached}`).join('; '),
  };
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
