/** Bounds the runtime holds to. */

/**
 * Journey-caused hops allowed in one causation chain (Start Journey, or
 * Subscribe → list → journey → Subscribe). An event deeper than this enrols
 * nobody; the refusal is recorded as an exited entry with the reason.
 */
export const MAX_CHAIN_DEPTH = 10;

/** Rounds of "carry out an external action, then continue" in one job. */
export const MAX_ROUNDS_PER_JOB = 20;

/** An active entry untouched this long has lost its job (Redis flushed, worker died): the sweeper queues it again. */
export const STALE_ACTIVE_MS = 60_000;

/**
 * How long a worker owns a pending external action before another may take it
 * over (its holder died): longer than any one attempt can take (a webhook or a
 * host API call with its own quick retries), so a live attempt is never
 * doubled; a late outcome of an attempt that lost its lease is not recorded.
 */
export function externalLeaseMs(config: { WEBHOOK_TIMEOUT_MS: number; HOST_API_TIMEOUT_MS: number }): number {
  return 2 * Math.max(config.WEBHOOK_TIMEOUT_MS, config.HOST_API_TIMEOUT_MS) + 10_000;
}

/** Attempts (real sends) of one external action before it fails for good. */
export const EXTERNAL_MAX_ATTEMPTS = 8;

/** Processed event ids are kept this long for dedupe, then pruned by the sweeper. */
export const EVENT_RETENTION_MS = 30 * 24 * 3600_000;
