/**
 * Coalesces items submitted one at a time (hook events fired concurrently, the
 * HTTP ingest under load) into batches, so that a stream of single events is
 * handled a batch at a time like a list import. Each caller still gets its own
 * item's result. A batch that fails is retried item by item, so one bad item
 * does not fail the others.
 */
export interface CoalescerOptions<T, R> {
  /** Items in one batch at most; a full batch runs at once. */
  maxBatch: number;
  /** Handles a batch; returns one result per item, in order. */
  run(items: T[]): Promise<R[]>;
}

interface Waiter<T, R> {
  item: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

export class EventCoalescer<T, R> {
  private readonly waiting: Waiter<T, R>[] = [];
  private flushScheduled = false;

  constructor(private readonly options: CoalescerOptions<T, R>) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.waiting.length >= this.options.maxBatch) void this.flush();
      else this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Everything submitted in this turn of the event loop (concurrent hooks, a burst of requests) goes into one batch.
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.waiting.splice(0, this.options.maxBatch);
    if (this.waiting.length > 0) this.schedule();
    if (batch.length === 0) return;
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
