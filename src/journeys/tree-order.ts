/**
 * An action tree in the order stats and the funnel list it: depth-first, each
 * branching action before its branches, the branches in the order
 * `branchesOf()` gives them (Yes before No, Path A before Path B).
 */
import { branchesOf } from '../engine/action-tree';
import type { Action } from '../engine/journey.types';

export interface TreeStep {
  action: Action;
  depth: number;
  /** Key and label of the nearest enclosing branch (`yes` / Yes, `path1` / Path A…), null on the main path. */
  branch: string | null;
  branchLabel: string | null;
  parent: string | null;
}

/** Depth-first, each branching action before its branches, in the order `branchesOf()` gives them, with depth and branch. */
export function treeOrder(actions: readonly Action[]): TreeStep[] {
  const out: TreeStep[] = [];
  const visit = (list: readonly Action[], depth: number, branch: string | null, branchLabel: string | null, parent: string | null) => {
    for (const action of list) {
      out.push({ action, depth, branch, branchLabel, parent });
      for (const b of branchesOf(action)) visit(b.actions, depth + 1, b.key, b.label, action.id);
    }
  };
  visit(actions, 0, null, null, null);
  return out;
}
