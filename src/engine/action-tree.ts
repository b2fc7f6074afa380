/**
 * Navigation of an action tree. The tree is a list of actions where a
 * branching action (a Yes/No condition, a Wait for event, a Random split)
 * holds more lists, its branches. Branches never rejoin: when a list runs out,
 * the journey ends for that subscriber.
 */
import type { Action } from './journey.types';
import { assertNever } from './journey.types';

/** One step of the way down to an action: the list it sits in and its index there. */
export interface TreePosition {
  list: readonly Action[];
  index: number;
}

/** The positions from the root list down to an action (the last one is the action's own). */
export type ActionPath = TreePosition[];

/** A branch of a branching action: `yes` / `no`, or `path1`… of a split, with what the planner calls it. */
export interface Branch {
  key: string;
  label: string;
  actions: Action[];
}

/** The branches an action holds, in order (none for an action that does not branch). */
export function branchesOf(action: Action): Branch[] {
  switch (action.type) {
    case 'condition':
    case 'wait_for_event':
      return [
        { key: 'yes', label: 'Yes', actions: action.yes ?? [] },
        { key: 'no', label: 'No', actions: action.no ?? [] },
      ];
    case 'random_split':
      return (action.paths ?? []).map((actions, i) => ({ key: `path${i + 1}`, label: `Path ${String.fromCharCode(65 + i)}`, actions }));
    case 'wait':
    case 'start_journey':
    case 'exit_journey':
    case 'exit_this_journey':
    case 'exit_all_other_journeys':
    case 'subscribe':
    case 'unsubscribe':
    case 'update_custom_field':
    case 'webhook':
    case 'send_email':
      return [];
    default:
      return assertNever(action, 'action');
  }
}

/** Every action of the tree, depth-first, each branching action before its branches in order. */
export function allActions(actions: readonly Action[]): Action[] {
  const out: Action[] = [];
  const visit = (list: readonly Action[]): void => {
    for (const action of list) {
      out.push(action);
      for (const branch of branchesOf(action)) visit(branch.actions);
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
    for (const branch of branchesOf(action)) {
      const inside = actionPath(branch.actions, id);
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

/** The branching actions whose branches lead to `id`, outermost first, with the branch taken. */
export function branchesTo(actions: readonly Action[], id: string): { action: Action; branch: Branch }[] {
  const path = actionPath(actions, id);
  if (!path) return [];
  const out: { action: Action; branch: Branch }[] = [];
  for (let depth = 0; depth < path.length - 1; depth++) {
    const action = path[depth].list[path[depth].index];
    const branch = branchesOf(action).find((b) => b.actions === path[depth + 1].list);
    if (branch) out.push({ action, branch });
  }
  return out;
}

/** Whether `earlierId` runs before `laterId` on every way to it (earlier in its list or in a list that encloses it). */
export function runsBefore(actions: readonly Action[], earlierId: string, laterId: string): boolean {
  const path = actionPath(actions, laterId);
  if (!path) return false;
  return path.some(({ list, index }) => list.slice(0, index + 1).some((action, i) => action.id === earlierId && (i < index || action.id !== laterId)));
}

/** An action an entry may still run, and whether it gets there only down one branch of a branching action. */
export interface ReachableAction {
  action: Action;
  /** Behind a branch of a Yes/No, Wait for event or Random split: only the entries that take that branch run it. */
  viaBranch: boolean;
}

/**
 * The actions an entry standing at `fromId` may still run, in tree order: the
 * rest of its list, and the branches of any branching action there, including
 * `fromId`'s own (an entry waiting at a Wait for event, or failed at a Yes/No,
 * goes down one of them). Null: an entry not started yet, before the first
 * action. Never back up and never into a sibling branch (branches do not
 * rejoin); an Exit This Journey ends the way. Empty for an id the tree lacks.
 */
export function reachableFrom(actions: readonly Action[], fromId: string | null): ReachableAction[] {
  const out: ReachableAction[] = [];
  const walk = (list: readonly Action[], from: number, viaBranch: boolean): void => {
    for (const action of list.slice(from)) {
      out.push({ action, viaBranch });
      if (action.type === 'exit_this_journey') return;
      for (const branch of branchesOf(action)) walk(branch.actions, 0, true);
    }
  };
  if (fromId === null) {
    walk(actions, 0, false);
    return out;
  }
  const path = actionPath(actions, fromId);
  if (!path) return out;
  const { list, index } = path[path.length - 1];
  for (const branch of branchesOf(list[index])) walk(branch.actions, 0, true);
  walk(list, index + 1, false);
  return out;
}

/** Deepest nesting of branches (0 for a flat list). */
export function treeDepth(actions: readonly Action[]): number {
  let deepest = 0;
  for (const action of actions) {
    for (const branch of branchesOf(action)) deepest = Math.max(deepest, 1 + treeDepth(branch.actions));
  }
  return deepest;
}
