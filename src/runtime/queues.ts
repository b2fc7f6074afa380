/**
 * The runtime's queue and job names, job ids and job options, in one place.
 *
 * Payloads carry entry ids only; the truth (state, position, wake time) is in
 * MySQL. Job ids are derived from the entries and their StepSeq, so the same
 * piece of work is never queued twice, and a job left over from an earlier
 * step finds its entries moved on and does nothing.
 */
import { createHash } from 'crypto';
import type { JobOptions } from 'bull';

export const ENTRY_QUEUE = 'journeys-entries';

export const JOB_RUN_ENTRIES = 'run-entries';

export interface RunEntriesJobData {
  entryIds: number[];
}

/** How many entries one job carries: big enough to batch SQL, small enough to keep transactions short. */
export const ENTRY_BATCH_SIZE = 500;

/** One entry at one step. */
export interface EntryStep {
  entryId: number;
  stepSeq: number;
}

/**
 * `step:<entryId>:<stepSeq>` for one entry, `steps:<count>:<sha1>` for a batch
 * (the hash of its sorted entry:step pairs), so re-queueing the same work is a no-op.
 */
export function runJobId(steps: readonly EntryStep[], delayed = false): string {
  const tag = delayed ? 'wake' : 'step';
  if (steps.length === 1) return `${tag}:${steps[0].entryId}:${steps[0].stepSeq}`;
  const sorted = [...steps].sort((a, b) => a.entryId - b.entryId);
  const hash = createHash('sha1');
  for (const s of sorted) hash.update(`${s.entryId}:${s.stepSeq},`);
  return `${tag}s:${sorted.length}:${hash.digest('hex')}`;
}

/**
 * Bull retries a job that threw (database away, deadlock) with exponential
 * backoff; completed and failed jobs are removed so their ids can be reused.
 * A job that used up its attempts leaves its entries active in MySQL, where
 * the sweeper finds them again.
 */
export function runJobOptions(jobId: string, delayMs = 0): JobOptions {
  return {
    jobId,
    delay: delayMs > 0 ? Math.ceil(delayMs) : undefined,
    attempts: 5,
    backoff: { type: 'exponential', delay: 500 },
    removeOnComplete: true,
    removeOnFail: true,
  };
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
