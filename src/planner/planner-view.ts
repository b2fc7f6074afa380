/**
 * The Action Planner as a view model: the draft tree turned into cards with
 * their settings fields (action-fields.ts), a one-line summary
 * (action-summaries.ts), counts and violations, and the branches of a
 * branching action as `branchesOf()` names them (Yes/No of a condition or a
 * Wait for event, the paths of a Random split), ready for
 * views/partials/action-*.hbs. Pure: everything it shows comes in.
 */
import { ACTION_REGISTRY, isActionType } from '../engine/action-registry';
import { operatorsFor, type AttributeKind } from '../engine/conditions';
import type { ActionCount } from '../journeys/journey.dto';
import { ACTION_CATALOG, actionTypeInfo } from './action-catalog';
import { fieldsOf, OPERATOR_LABELS } from './action-fields';
import { summaryOf } from './action-summaries';
import { draftBranches, holdsBranches, type DraftAction } from './forms/draft-tree';
import type { PlannerContext } from './planner-context';

const ALL_KINDS: AttributeKind[] = ['text', 'number', 'date', 'enum', 'activity'];

/** Operators per attribute kind, for planner.js to narrow the operator list when the attribute changes. */
export function operatorsByKind(): Record<string, [string, string][]> {
  return Object.fromEntries(ALL_KINDS.map((kind) => [kind, operatorsFor(kind).map((op) => [op, OPERATOR_LABELS[op]] as [string, string])]));
}

export function paletteGroups(): { group: string; types: { type: string; label: string; hint: string }[] }[] {
  const groups = new Map<string, { type: string; label: string; hint: string }[]>();
  for (const info of ACTION_CATALOG) groups.set(info.group, [...(groups.get(info.group) ?? []), { type: info.type, label: info.label, hint: info.hint }]);
  return [...groups].map(([group, types]) => ({ group, types }));
}

export interface PlannerBranch {
  /** The "Add action" slot at its start: `<key>.<actionId>`. */
  slot: string;
  /** `yes`, `no`, `path1`… */
  key: string;
  label: string;
  /** Look of the branch: Yes, No or Path. */
  tone: 'Yes' | 'No' | 'Path';
  /** A split's percentage for this path (text as typed), null for Yes/No. */
  percent: string | null;
  /** Entries that took this branch (log rows of the branching action). */
  count: number;
  nodes: PlannerNode[];
}

export interface PlannerNode {
  id: string;
  type: string;
  label: string;
  summary: string;
  counts: ActionCount;
  violations: string[];
  first: boolean;
  last: boolean;
  is: Record<string, boolean>;
  /** The branches side by side (none for an action that does not branch). */
  branches: PlannerBranch[];
  f: Record<string, unknown>;
  /**
   * Slot of the "Add action" menu below this action; none below a branching
   * action, since a branch that runs out ends the journey and actions there would never run.
   */
  afterSlot: string | null;
  /** Partial that renders the settings fields (views/partials/settings/<type>.hbs). */
  settingsPartial: string;
}

export function plannerNodes(list: readonly DraftAction[], ctx: PlannerContext): PlannerNode[] {
  return list.map((action, index) => node(action, ctx, index === 0, index === list.length - 1));
}

function node(action: DraftAction, ctx: PlannerContext, first: boolean, last: boolean): PlannerNode {
  const info = actionTypeInfo(action.type);
  const count = ctx.counts[action.id];
  const percents = Array.isArray(action.settings?.percents) ? action.settings.percents : [];
  return {
    id: action.id,
    type: action.type,
    label: info?.label ?? `Unknown action (${action.type})`,
    summary: summaryOf(action, ctx),
    counts: {
      current: count?.current ?? 0,
      passed: count?.passed ?? 0,
      failed: count?.failed ?? 0,
      retrying: count?.retrying ?? 0,
      skipped: count?.skipped ?? 0,
    },
    violations: ctx.violations.get(action.id) ?? [],
    first,
    last,
    is: { [action.type]: true },
    branches: draftBranches(action).map((branch, index) => ({
      slot: `${branch.key}.${action.id}`,
      key: branch.key,
      label: branch.label,
      tone: branch.key === 'yes' ? 'Yes' : branch.key === 'no' ? 'No' : 'Path',
      percent: action.type === 'random_split' ? String(percents[index] ?? '') : null,
      count: count?.branches?.[branch.key] ?? 0,
      nodes: plannerNodes(branch.actions, ctx),
    })),
    f: fieldsOf(action, ctx),
    afterSlot: holdsBranches(action.type) ? null : `after.${action.id}`,
    settingsPartial: info && isActionType(action.type) ? ACTION_REGISTRY[action.type].settingsPartial : 'settings/none',
  };
}
