/**
 * Which entries need a look: failed ones, and those retrying an external
 * action. The rule is the runtime's (EntryScheduler.retryEntry / skipEntry
 * accept exactly these): an entry is retrying when it waits with an error at
 * an action the registry calls external (Subscribe, Unsubscribe, Webhook);
 * its next attempt starts at its wake time.
 */
import { isExternalAction } from '../engine/action-registry';
import { allActions, findAction } from '../engine/action-tree';
import type { Action } from '../engine/journey.types';
import type { EntryState } from '../engine/step.types';
import type { EntryTrouble } from './journey.dto';

/**
 * The SQL form of "retrying" on the entries table, with `:externalActionIds`
 * bound to externalActionIds(tree) (never empty there: callers skip the query
 * when the tree has no external action). The position index narrows it to the
 * entries waiting at those actions.
 */
export const RETRYING_SQL = `State = 'waiting' AND CurrentActionID IN (:externalActionIds) AND LastError IS NOT NULL`;

/** Ids of the tree's external actions. */
export function externalActionIds(actions: readonly Action[]): string[] {
  return allActions(actions)
    .filter((a) => isExternalAction(a))
    .map((a) => a.id);
}

/** Failed, retrying, or neither (null), for one entry of a journey with this tree. */
export function troubleOf(
  entry: { State: EntryState; LastError: string | null; CurrentActionID: string | null },
  actions: readonly Action[],
): EntryTrouble | null {
  if (entry.State === 'failed') return 'failed';
  const action = entry.CurrentActionID ? findAction(actions, entry.CurrentActionID) : undefined;
  return entry.State === 'waiting' && entry.LastError !== null && isExternalAction(action) ? 'retrying' : null;
}
