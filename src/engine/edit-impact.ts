/**
 * What saving a new action tree does to the subscribers inside a live journey.
 * Edits are forward-only: an entry keeps its place when its action id survives
 * (wherever the action moved); an entry at an action the new tree no longer
 * has exits with the reason ACTION_REMOVED_REASON. Entries that stand before
 * an added action, on a way that leads to it, will run it when they get there.
 */
import { actionIds, allActions, reachableFrom } from './action-tree';
import type { Action, ActionType } from './journey.types';

export interface ActionPositionCount {
  /** The action the entries stand at; null for entries not started yet (before the first action). */
  actionId: string | null;
  /** Live entries (active, waiting or failed) at that position. */
  count: number;
}

export interface RemovedActionImpact {
  actionId: string;
  /** The action's type in the old tree; null when the id was not in the old tree either. */
  type: ActionType | null;
  count: number;
}

/** An action of the new tree that the old one lacks, and the live entries that will get to it. */
export interface NewActionImpact {
  actionId: string;
  type: ActionType;
  /**
   * Live entries standing before it on a way that leads to it (kept in the
   * journey by the edit). An upper bound: a goal, an exit or a failure on the
   * way may take some out first.
   */
  count: number;
  /**
   * Some of them get there only if they take one branch of a Yes/No, Wait for
   * event or Random split: say "up to `count`".
   */
  upTo: boolean;
}

export interface EditImpact {
  /** Entries that would exit because their action is removed. */
  affected: number;
  /** Ids of the old tree that the new tree no longer has. */
  removedActionIds: string[];
  /** Per removed action with entries on it, the count that would exit, largest first. */
  byAction: RemovedActionImpact[];
  /**
   * Ids kept but with another type (e.g. a Wait turned into a Webhook): entries
   * there keep their place and continue after it, so the planner should warn.
   */
  retypedActionIds: string[];
  /** Every action the edit adds, in tree order, with the entries that will run it (0 when none stand before it). */
  newActions: NewActionImpact[];
  /** Entries before at least one added action, each counted once; `upTo` when some reach the added actions only down a branch. */
  reached: { count: number; upTo: boolean };
}

export function editImpact(oldActions: readonly Action[], newActions: readonly Action[], positions: readonly ActionPositionCount[]): EditImpact {
  const oldTypes = new Map(allActions(oldActions).map((action) => [action.id, action.type] as const));
  const newTypes = new Map(allActions(newActions).map((action) => [action.id, action.type] as const));
  const kept = actionIds(newActions);
  const removedActionIds = [...oldTypes.keys()].filter((id) => !kept.has(id));
  const retypedActionIds = [...oldTypes].filter(([id, type]) => newTypes.has(id) && newTypes.get(id) !== type).map(([id]) => id);

  const counts = new Map<string, number>();
  for (const { actionId, count } of positions) {
    if (actionId !== null && count > 0 && !kept.has(actionId)) counts.set(actionId, (counts.get(actionId) ?? 0) + count);
  }
  const byAction = [...counts]
    .map(([actionId, count]) => ({ actionId, type: oldTypes.get(actionId) ?? null, count }))
    .sort((a, b) => b.count - a.count || a.actionId.localeCompare(b.actionId));
  const affected = byAction.reduce((sum, entry) => sum + entry.count, 0);
  return { affected, removedActionIds, byAction, retypedActionIds, ...reachOfNewActions(newActions, oldTypes, positions) };
}

/** Per action of `newActions` whose id `oldTypes` lacks, the entries whose position leads to it; and those entries counted once. */
function reachOfNewActions(
  newActions: readonly Action[],
  oldTypes: ReadonlyMap<string, ActionType>,
  positions: readonly ActionPositionCount[],
): Pick<EditImpact, 'newActions' | 'reached'> {
  const added = new Map<string, NewActionImpact>();
  for (const action of allActions(newActions)) {
    if (!oldTypes.has(action.id)) added.set(action.id, { actionId: action.id, type: action.type, count: 0, upTo: false });
  }
  const reached = { count: 0, upTo: false };
  if (added.size === 0) return { newActions: [], reached };
  for (const { actionId, count } of positions) {
    if (count <= 0) continue;
    let reachesOne = false;
    let surelyOne = false;
    // An entry at an action the new tree lacks leaves the journey: reachableFrom finds nothing for it.
    for (const { action, viaBranch } of reachableFrom(newActions, actionId)) {
      const impact = added.get(action.id);
      if (!impact) continue;
      impact.count += count;
      impact.upTo ||= viaBranch;
      reachesOne = true;
      surelyOne ||= !viaBranch;
    }
    if (reachesOne) {
      reached.count += count;
      reached.upTo ||= !surelyOne;
    }
  }
  return { newActions: [...added.values()], reached };
}
