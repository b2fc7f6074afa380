/**
 * The runtime's executors of external actions, one per external action type
 * of the engine's registry. The mapped type makes a missing one a compile
 * error; assertExecutorsComplete() repeats the check when the module starts,
 * so a registry entry marked external without an executor fails at start,
 * never at run time.
 */
import { JourneysException } from '../../common/journeys.exception';
import { isTransientDbError } from '../../database/db';
import { EXTERNAL_ACTION_TYPES, type ExternalAction, type ExternalActionType } from '../../engine/action-registry';
import { PermanentHostError, type HostCallOutcome } from '../../host/host.ports';
import type { PendingExternal } from '../entry.types';

/** What carrying out an action once came to. */
export type ExternalOutcome =
  /** Carried out (or, with `skipped`, not carried out for that reason, and the entry goes on). */
  | { kind: 'done'; result: string; skipped?: string }
  /** Not carried out, and the entry leaves the journey for this reason (Send Email set to exit when undeliverable). */
  | { kind: 'exit'; reason: string }
  | { kind: 'retry'; error: string; retryAfterMs?: number }
  | { kind: 'permanent'; error: string };

export type PendingOf<T extends ExternalActionType> = PendingExternal & { action: Extract<ExternalAction, { type: T }> };

export interface ExternalExecutor<T extends ExternalActionType> {
  /** Carries out each item once: one outcome per item, in order. One item's error is its own outcome, never the batch's. */
  performMany(items: readonly PendingOf<T>[]): Promise<ExternalOutcome[]>;
}

export type ExternalExecutors = { readonly [T in ExternalActionType]: ExternalExecutor<T> };

export function assertExecutorsComplete(executors: Readonly<Record<string, unknown>>, types: readonly string[] = EXTERNAL_ACTION_TYPES): void {
  const missing = types.filter((type) => typeof (executors[type] as Partial<ExternalExecutor<ExternalActionType>> | undefined)?.performMany !== 'function');
  const extra = Object.keys(executors).filter((type) => !types.includes(type));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(`External action executors incomplete: missing ${missing.join(', ') || 'none'}; not external ${extra.join(', ') || 'none'}`);
  }
}

/** An error from a host port as an outcome: PermanentHostError (or the plug-in's own exception) will not pass on retry; anything else may. */
export function outcomeOfError(type: string, error: unknown): ExternalOutcome {
  const message = `${type}: ${error instanceof Error ? error.message : String(error)}`;
  if (error instanceof PermanentHostError || error instanceof JourneysException) return { kind: 'permanent', error: message };
  const retryAfterMs = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return { kind: 'retry', error: message, retryAfterMs: typeof retryAfterMs === 'number' ? retryAfterMs : undefined };
}

/** A batch call's per-request outcome as the runtime's. */
export function outcomeOfHostCall<T>(type: string, outcome: HostCallOutcome<T> | undefined, describe: (result: T) => string): ExternalOutcome {
  if (!outcome) return { kind: 'retry', error: `${type}: the host answered no outcome for this request` };
  if (outcome.ok) return { kind: 'done', result: describe(outcome as T) };
  return { kind: outcome.permanent ? 'permanent' : 'retry', error: `${type}: ${outcome.error}` };
}

/** A deadlock or lock timeout in the host's own path is tried again on the spot a few times before it counts as a failed attempt. */
const QUICK_RETRIES_ON_LOCK_CONFLICT = 3;

/** Runs one host call, retrying it on the spot after a lock conflict in the host's database. */
export async function withQuickRetries<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isTransientDbError(error) || attempt > QUICK_RETRIES_ON_LOCK_CONFLICT) throw error;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80 * attempt));
    }
  }
}

/** Maps items to outcomes with at most `limit` calls in flight; each item's error becomes its outcome. */
export async function mapLimited<I>(
  items: readonly I[],
  limit: number,
  type: string,
  perform: (item: I) => Promise<ExternalOutcome>,
): Promise<ExternalOutcome[]> {
  const outcomes: ExternalOutcome[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      outcomes[i] = await perform(items[i]).catch((error: unknown) => outcomeOfError(type, error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return outcomes;
}
