/**
 * What saving a new action tree does to the subscribers inside a live journey.
 * Edits are forward-only: an entry keeps its place when its action id survives
 * (wherever the action moved); an entry at an action the new tree no longer
 * has exits with the reason ACTION_REMOVED_REASON.
 */
import { actionIds, allActions } from './action-tree';
import type { Action, ActionType } from './journey.types';

export interface ActionPositionCount {
  actionId: string;
  /** Entries (active or waiting) currently at that action. */
  count: number;
}

export interface RemovedActionImpact {
  actionId: string;
  /** The action's type in the old tree; null when the id was not in the old tree either. */
  type: ActionType | null;
  count: number;
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
}

export function editImpact(oldActions: readonly Action[], newActions: readonly Action[], positions: readonly ActionPositionCount[]): EditImpact {
  const oldTypes = new Map(allActions(oldActions).map((action) => [action.id, action.type] as const));
  const newTypes = new Map(allActions(newActions).map((action) => [action.id, action.type] as const));
  const kept = actionIds(newActions);
  const removedActionIds = [...oldTypes.keys()].filter((id) => !kept.has(id));
  const retypedActionIds = [...oldTypes].filter(([id, type]) => newTypes.has(id) && newTypes.get(id) !== type).map(([id]) => id);

  const counts = new Map<string, number>();
  for (const { actionId, count } of positions) {
    if (count > 0 && !kept.has(actionId)) counts.set(actionId, (counts.get(actionId) ?? 0) + count);
  }
  const byAction = [...counts]
    .map(([actionId, count]) => ({ actionId, type: oldTypes.get(actionId) ?? null, count }))
    .sort((a, b) => b.count - a.count || a.actionId.localeCompare(b.actionId));
  const affected = byAction.reduce((sum, entry) => sum + entry.count, 0);
  return { affected, removedActionIds, byAction, retypedActionIds };
}
