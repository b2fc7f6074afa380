/**
 * Coalesces items submitted one at a time (hook events fired concurrently, the
 * HTTP ingest under load) into batches, so that a stream of single events is
 * handled a batch at a time like a list import. Each caller gets its own
 * item's result.
 *
 * Adaptive, with no timer: an item arriving while fewer than `maxInFlight`
 * batches run goes out with whatever arrived in the same turn of the event
 * loop (no added latency at low rates); while the batches in flight are busy,
 * items wait, and the next free slot takes up to `maxBatch` of them at once.
 * So batches grow exactly as fast as traffic outruns a single transaction.
 *
 * Bounded: at most `maxWaiting` items wait for a slot; beyond that submit()
 * holds its caller until there is room (backpressure), and `full` tells a
 * caller that would rather refuse (the HTTP ingest answers 503).
 *
 * A batch that fails is retried item by item, so one bad item does not fail
 * the others.
 */
export interface CoalescerOptions<T, R> {
  /** Items in one batch at most. */
  maxBatch: number;
  /** Batches running at once. */
  maxInFlight: number;
  /**
   * A batch beyond the first starts only while at least this many items wait
   * (default 0: whenever a slot is free). One batch at a time makes bigger
   * batches at moderate rates and spares the database two transactions
   * contending for the same index pages; a backlog this deep opens the others.
   */
  extraBatchAt?: number;
  /** Items waiting for a slot at most; more callers wait for room. */
  maxWaiting: number;
  /** Handles a batch; returns one result per item, in order. */
  run(items: T[]): Promise<R[]>;
}

interface Waiter<T, R> {
  item: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

/** A first-in first-out queue whose take from the front costs the items taken, not the items left (Array#splice would). */
class Fifo<V> {
  private items: V[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: V): void {
    this.items.push(item);
  }

  shift(): V | undefined {
    return this.length > 0 ? this.take(1)[0] : undefined;
  }

  take(n: number): V[] {
    const out = this.items.slice(this.head, this.head + n);
    this.head += out.length;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head); // drop what was taken, now and then
      this.head = 0;
    }
    return out;
  }
}

export class EventCoalescer<T, R> {
  private readonly waiting = new Fifo<Waiter<T, R>>();
  /** Callers held back until there is room in `waiting`. */
  private readonly held = new Fifo<() => void>();
  private inFlight = 0;
  private inFlightItems = 0;
  private flushScheduled = false;

  constructor(private readonly options: CoalescerOptions<T, R>) {}

  /** Items accepted and not yet answered (waiting or in a running batch). */
  get backlog(): number {
    return this.waiting.length + this.inFlightItems;
  }

  /** No room for another item without holding its caller. */
  get full(): boolean {
    return this.waiting.length >= this.options.maxWaiting;
  }

  async submit(item: T): Promise<R> {
    while (this.full) await new Promise<void>((resolve) => this.held.push(resolve));
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushScheduled || !this.mayStart()) return;
    this.flushScheduled = true;
    // Everything submitted in this turn of the event loop (concurrent hooks, a burst of requests) goes into one batch.
    setImmediate(() => {
      this.flushScheduled = false;
      while (this.mayStart()) void this.flush();
    });
  }

  /** Whether another batch may start now. */
  private mayStart(): boolean {
    if (this.inFlight >= this.options.maxInFlight || this.waiting.length === 0) return false;
    return this.inFlight === 0 || this.waiting.length >= (this.options.extraBatchAt ?? 0);
  }

  private async flush(): Promise<void> {
    const batch = this.waiting.take(this.options.maxBatch);
    this.inFlight++;
    this.inFlightItems += batch.length;
    for (let room = this.options.maxWaiting - this.waiting.length; room > 0 && this.held.length > 0; room--) this.held.shift()!();
    try {
      await this.runBatch(batch);
    } finally {
      this.inFlight--;
      this.inFlightItems -= batch.length;
      this.schedule();
    }
  }

  private async runBatch(batch: Waiter<T, R>[]): Promise<void> {
    try {
      const results = await this.options.run(batch.map((w) => w.item));
      batch.forEach((w, i) => w.resolve(results[i]));
    } catch (error) {
      if (batch.length === 1) return batch[0].reject(error);
      for (const w of batch) {
        await this.options.run([w.item]).then(
          ([result]) => w.resolve(result),
          (e: unknown) => w.reject(e),
        );
      }
    }
  }
}
