/**
 * The planner's draft tree: actions as the form describes them (settings not
 * validated yet), navigated the way the engine's `branchesOf()` says, so a
 * Yes/No condition, a Wait for event (Yes/No) and a Random split (paths A–E)
 * are handled by the same code. Branches live where the engine keeps them:
 * `yes` / `no`, or `paths[n]` for branch key `path<n+1>`.
 */
import { ACTION_REGISTRY, isActionType } from '../../engine/action-registry';
import { branchesOf } from '../../engine/action-tree';
import type { Action, ActionType } from '../../engine/journey.types';
import { MAX_SPLIT_PATHS } from '../../engine/journey.types';

export interface DraftAction {
  id: string;
  type: string;
  settings: Record<string, unknown>;
  yes?: DraftAction[];
  no?: DraftAction[];
  paths?: DraftAction[][];
}

/** The ids-only shape of a draft tree the planner form posts (`tree`): branches where the action keeps them. */
export interface TreeNode {
  id: string;
  yes?: TreeNode[];
  no?: TreeNode[];
  paths?: TreeNode[][];
}

export interface DraftBranch {
  /** `yes`, `no`, `path1`… as `branchesOf()` names them. */
  key: string;
  label: string;
  actions: DraftAction[];
}

export function holdsBranches(type: string): type is ActionType {
  return isActionType(type) && ACTION_REGISTRY[type].branches;
}

/** The branches of a draft action, in order; the lists are the draft's own (changing one changes the draft). */
export function draftBranches(action: DraftAction): DraftBranch[] {
  if (!holdsBranches(action.type)) return [];
  return branchesOf(action as unknown as Action) as unknown as DraftBranch[];
}

/** The keys a branching action of this type has (`pathCount` for a split), read off `branchesOf()`. */
export function branchKeysOf(type: string, pathCount: number): string[] {
  if (!holdsBranches(type)) return [];
  const skeleton = { id: '', type, settings: {}, yes: [], no: [], paths: Array.from({ length: pathCount }, () => []) };
  return branchesOf(skeleton as unknown as Action).map((branch) => branch.key);
}

const PATH_KEY = /^path([1-9])$/;

/** What sits at branch `key` of an action or a tree node read from the form (undefined when nothing). */
export function readBranch(holder: { yes?: unknown; no?: unknown; paths?: unknown }, key: string): unknown {
  if (key === 'yes' || key === 'no') return holder[key];
  const path = PATH_KEY.exec(key);
  return path && Array.isArray(holder.paths) ? (holder.paths as unknown[])[Number(path[1]) - 1] : undefined;
}

/** Puts a list at branch `key` of an action or a tree node. */
export function writeBranch<L>(holder: { yes?: L[]; no?: L[]; paths?: L[][] }, key: string, list: L[]): void {
  if (key === 'yes' || key === 'no') {
    holder[key] = list;
    return;
  }
  const path = PATH_KEY.exec(key);
  if (!path) return;
  const paths = (holder.paths ??= []);
  const index = Number(path[1]) - 1;
  while (paths.length < index) paths.push([]);
  paths[index] = list;
}

/** Whether a slot name's branch part (`yes`, `no`, `path3`) can name a branch. */
export function isBranchKey(value: string): boolean {
  return value === 'yes' || value === 'no' || (PATH_KEY.test(value) && Number(value.slice(4)) <= MAX_SPLIT_PATHS);
}

/** Where an action sits: its list, its index there, and the actions of the lists that enclose it (outermost first). */
export interface DraftLocation {
  list: DraftAction[];
  index: number;
  action: DraftAction;
  /** Per enclosing level, the list and the index of the action whose branch leads down. */
  ancestors: { list: DraftAction[]; index: number }[];
}

export function locate(tree: DraftAction[], id: string, ancestors: DraftLocation['ancestors'] = []): DraftLocation | undefined {
  for (let index = 0; index < tree.length; index++) {
    const action = tree[index];
    if (action.id === id) return { list: tree, index, action, ancestors };
    for (const branch of draftBranches(action)) {
      const inside = locate(branch.actions, id, [...ancestors, { list: tree, index }]);
      if (inside) return inside;
    }
  }
  return undefined;
}

/**
 * The Send Email actions that run before the action `id` on every way to it
 * (earlier in its own list or in a list that encloses it), nearest last: the
 * ones a Wait for event may name as "the email sent by".
 */
export function sendersBefore(tree: DraftAction[], id: string): DraftAction[] {
  const at = locate(tree, id);
  if (!at) return [];
  const levels = [...at.ancestors, { list: at.list, index: at.index }];
  return levels.flatMap(({ list, index }) => list.slice(0, index).filter((a) => a.type === 'send_email'));
}

/** Every action of the draft, depth-first. */
export function allDraftActions(tree: readonly DraftAction[]): DraftAction[] {
  return tree.flatMap((action) => [action, ...draftBranches(action).flatMap((branch) => allDraftActions(branch.actions))]);
}

/** The ids-only shape of a draft, as the planner form's `tree` field carries it. */
export function treeShape(tree: DraftAction[]): TreeNode[] {
  return tree.map((action) => {
    const node: TreeNode = { id: action.id };
    for (const branch of draftBranches(action)) writeBranch(node, branch.key, treeShape(branch.actions));
    return node;
  });
}
