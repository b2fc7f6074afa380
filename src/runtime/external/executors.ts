/**
 * The runtime's executors of external actions, one per external action type
 * of the engine's registry. The mapped type makes a missing one a compile
 * error; assertExecutorsComplete() repeats the check when the module starts,
 * so a registry entry marked external without an executor fails at start,
 * never at run time.
 */
import { EXTERNAL_ACTION_TYPES, type ExternalAction, type ExternalActionType } from '../../engine/action-registry';
import type { PendingExternal } from '../entry.types';

/** What carrying out an action once came to. */
export type ExternalOutcome =
  { kind: 'done'; result: string } | { kind: 'retry'; error: string; retryAfterMs?: number; lockConflict?: boolean } | { kind: 'permanent'; error: string };

export type PendingOf<T extends ExternalActionType> = PendingExternal & { action: Extract<ExternalAction, { type: T }> };

export interface ExternalExecutor<T extends ExternalActionType> {
  /** Carries the action out once; errors it cannot classify are thrown (the caller treats them as transient). */
  perform(item: PendingOf<T>): Promise<ExternalOutcome>;
}

export type ExternalExecutors = { readonly [T in ExternalActionType]: ExternalExecutor<T> };

export function assertExecutorsComplete(executors: Readonly<Record<string, unknown>>, types: readonly string[] = EXTERNAL_ACTION_TYPES): void {
  const missing = types.filter((type) => typeof (executors[type] as Partial<ExternalExecutor<ExternalActionType>> | undefined)?.perform !== 'function');
  const extra = Object.keys(executors).filter((type) => !types.includes(type));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(`External action executors incomplete: missing ${missing.join(', ') || 'none'}; not external ${extra.join(', ') || 'none'}`);
  }
}
