/**
 * Latency measuring for the streaming benchmarks:
 * - an open-loop generator: event i is due at start + i / rate; a timer sends
 *   every event whose time has come (several per tick when behind) and never
 *   waits for an answer, recording when each was handed in and answered;
 * - a commit recorder: wraps the host port's setCustomFields / setCustomField
 *   so that, for each subscriber written, the time its write committed is
 *   recorded (in the transaction's afterCommit);
 * - percentiles and the backlog (handed in − done) over time.
 *
 * Times are epoch milliseconds with sub-millisecond precision
 * (performance.timeOrigin + performance.now()), so a child process's
 * hand-in times compare with this process's commit times.
 */
import { performance } from 'perf_hooks';
import type { SqlTransaction } from '../src/database/db';
import type { SubscriptionCommandsPort } from '../src/host/host.ports';
import { sleep } from './bench-support';

export const epochNow = (): number => performance.timeOrigin + performance.now();

export interface OpenLoopRun {
  /** Hand-in time of each event (NaN until sent). */
  handIn: Float64Array;
  /** Answer time of each event (NaN until answered or when it failed). */
  answered: Float64Array;
  /** Resolves with the time the last event was handed in. */
  sendingDone: Promise<number>;
  /** Resolves once every event is answered or failed. */
  allAnswered: Promise<void>;
  /** Worst time an event was handed in after its scheduled time (the sender itself falling behind). */
  maxLagMs(): number;
  errors(): { count: number; first?: string };
}

/** Sends `count` events at `rate` per second, open loop. `send(i)` hands event i in and resolves with its answer. */
export function openLoop(rate: number, count: number, send: (i: number) => Promise<unknown>): OpenLoopRun {
  const handIn = new Float64Array(count).fill(NaN);
  const answered = new Float64Array(count).fill(NaN);
  const interval = 1000 / rate;
  const start = epochNow() + 1;
  let next = 0;
  let open = count;
  let maxLag = 0;
  let errorCount = 0;
  let firstError: string | undefined;
  let finishSending!: (at: number) => void;
  let finishAnswers!: () => void;
  const sendingDone = new Promise<number>((resolve) => (finishSending = resolve));
  const allAnswered = new Promise<void>((resolve) => (finishAnswers = resolve));
  const settle = () => {
    if (--open === 0) finishAnswers();
  };
  const tick = () => {
    const due = Math.min(count, Math.floor((epochNow() - start) / interval) + 1);
    while (next < due) {
      const i = next++;
      const at = epochNow();
      handIn[i] = at;
      maxLag = Math.max(maxLag, at - (start + i * interval));
      send(i).then(
        () => {
          answered[i] = epochNow();
          settle();
        },
        (error: unknown) => {
          errorCount++;
          firstError ??= (error as Error)?.message ?? String(error);
          settle();
        },
      );
    }
    if (next < count) setTimeout(tick, Math.max(1, start + next * interval - epochNow()));
    else finishSending(handIn[count - 1]);
  };
  if (count === 0) {
    finishSending(start);
    finishAnswers();
  } else setTimeout(tick, 1);
  return { handIn, answered, sendingDone, allAnswered, maxLagMs: () => maxLag, errors: () => ({ count: errorCount, first: firstError }) };
}

/** Records, per list and subscriber, when the first custom field write for them committed. */
export class CommitRecorder {
  private readonly lists = new Map<number, Map<number, number>>();

  /** Wraps the port's field writers in place (the runtime reads them from the port on every call). */
  constructor(port: SubscriptionCommandsPort) {
    const many = port.setCustomFields?.bind(port);
    const one = port.setCustomField.bind(port);
    if (many) {
      port.setCustomFields = async (userId, listId, writes, transaction) => {
        await many(userId, listId, writes, transaction);
        this.onCommit(
          transaction,
          listId,
          writes.map((w) => w.subscriberId),
        );
      };
    }
    port.setCustomField = async (userId, ref, fieldId, value, transaction) => {
      await one(userId, ref, fieldId, value, transaction);
      this.onCommit(transaction, ref.listId, [ref.subscriberId]);
    };
  }

  private onCommit(transaction: unknown, listId: number, subscriberIds: number[]): void {
    const record = () => {
      const at = epochNow();
      const list = this.committed(listId);
      for (const id of subscriberIds) if (!list.has(id)) list.set(id, at);
    };
    const tx = transaction as Partial<SqlTransaction> | undefined;
    if (typeof tx?.afterCommit === 'function') tx.afterCommit(record);
    else record(); // no transaction: the write is committed when it returns
  }

  /** Subscriber id → commit time, for one list. */
  committed(listId: number): Map<number, number> {
    let list = this.lists.get(listId);
    if (!list) this.lists.set(listId, (list = new Map()));
    return list;
  }

  /** Waits until `n` subscribers of the list have a committed write, or the deadline; returns whether they all did. */
  async waitFor(listId: number, n: number, deadline: number): Promise<boolean> {
    while (this.committed(listId).size < n) {
      if (epochNow() > deadline) return false;
      await sleep(10);
    }
    return true;
  }
}

export interface Percentiles {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of `values` (NaN when empty). */
export function percentiles(values: number[]): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]);
  return { n: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: sorted.length === 0 ? NaN : sorted[sorted.length - 1] };
}

/**
 * Backlog = events handed in − events done, from the times of both: its value
 * at `at` and its maximum up to then.
 */
export function backlog(handIn: ArrayLike<number>, done: ArrayLike<number>, at: number): { at: number; max: number } {
  const ins = Float64Array.from(handIn).filter((t) => !Number.isNaN(t) && t <= at);
  const outs = Float64Array.from(done).filter((t) => !Number.isNaN(t) && t <= at);
  ins.sort();
  outs.sort();
  let i = 0;
  let o = 0;
  let max = 0;
  while (i < ins.length) {
    if (o < outs.length && outs[o] <= ins[i]) o++;
    else {
      i++;
      max = Math.max(max, i - o);
    }
  }
  return { at: ins.length - outs.length, max };
}
