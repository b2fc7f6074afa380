/**
 * Navigation of an action tree. The tree is a list of actions where a Yes/No
 * condition holds two more lists (its branches). Branches never rejoin: when
 * a list runs out, the journey ends for that subscriber.
 */
import type { Action, ConditionAction } from './journey.types';

/** One step of the way down to an action: the list it sits in and its index there. */
export interface TreePosition {
  list: readonly Action[];
  index: number;
}

/** The positions from the root list down to an action (the last one is the action's own). */
export type ActionPath = TreePosition[];

/** Every action of the tree, depth-first, each condition before its Yes then its No branch. */
export function allActions(actions: readonly Action[]): Action[] {
  const out: Action[] = [];
  const visit = (list: readonly Action[]): void => {
    for (const action of list) {
      out.push(action);
      if (action.type === 'condition') {
        visit(action.yes);
        visit(action.no);
      }
    }
  };
  visit(actions);
  return out;
}

export function actionIds(actions: readonly Action[]): Set<string> {
  return new Set(allActions(actions).map((action) => action.id));
}

/** The path to the action with this id, or undefined when the tree has none. */
export function actionPath(actions: readonly Action[], id: string): ActionPath | undefined {
  for (let index = 0; index < actions.length; index++) {
    const action = actions[index];
    const here: TreePosition = { list: actions, index };
    if (action.id === id) return [here];
    if (action.type === 'condition') {
      const inside = actionPath(action.yes, id) ?? actionPath(action.no, id);
      if (inside) return [here, ...inside];
    }
  }
  return undefined;
}

export function findAction(actions: readonly Action[], id: string): Action | undefined {
  const path = actionPath(actions, id);
  if (!path) return undefined;
  const last = path[path.length - 1];
  return last.list[last.index];
}

/**
 * The action that follows `id` in its own list, or null when `id` is the last
 * of its list (the journey ends there) or is not in the tree at all (tell the
 * two apart with `findAction`).
 */
export function nextAfter(actions: readonly Action[], id: string): Action | null {
  const path = actionPath(actions, id);
  if (!path) return null;
  const { list, index } = path[path.length - 1];
  return list[index + 1] ?? null;
}

/** The conditions whose branches lead to `id`, outermost first, with the branch taken. */
export function branchesTo(actions: readonly Action[], id: string): { condition: ConditionAction; branch: 'yes' | 'no' }[] {
  const path = actionPath(actions, id);
  if (!path) return [];
  const out: { condition: ConditionAction; branch: 'yes' | 'no' }[] = [];
  for (let depth = 0; depth < path.length - 1; depth++) {
    const condition = path[depth].list[path[depth].index] as ConditionAction;
    out.push({ condition, branch: condition.yes === path[depth + 1].list ? 'yes' : 'no' });
  }
  return out;
}

/** Deepest nesting of branches (0 for a flat list). */
export function treeDepth(actions: readonly Action[]): number {
  let deepest = 0;
  for (const action of actions) {
    if (action.type === 'condition') deepest = Math.max(deepest, 1 + treeDepth(action.yes), 1 + treeDepth(action.no));
  }
  return deepest;
}
