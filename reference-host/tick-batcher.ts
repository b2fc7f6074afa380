/**
 * Single calls arriving in the same tick of the event loop, carried out as
 * one batch: under load the host spends a few statements per batch rather
 * than per call, and each call still gets its own answer (or its own error).
 */
import type { CallOutcome } from './subscription-calls';

interface Waiting<C, R> {
  call: C;
  resolve(result: R): void;
  reject(error: unknown): void;
}

export class TickBatcher<C, R> {
  private waiting: Waiting<C, R>[] = [];
  private flushScheduled = false;

  /** @param run carries out a batch: one outcome per call, in order; when it throws, every call of the batch fails with that error. */
  constructor(
    private readonly maxBatch: number,
    private readonly run: (calls: C[]) => Promise<CallOutcome<R>[]>,
  ) {}

  add(call: C): Promise<R> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ call, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.waiting.splice(0, this.maxBatch);
    this.flushScheduled = this.waiting.length > 0;
    if (this.flushScheduled) setImmediate(() => void this.flush());
    try {
      const outcomes = await this.run(batch.map((w) => w.call));
      batch.forEach((w, i) => {
        const outcome = outcomes[i];
        if (outcome.ok) w.resolve(outcome.result);
        else w.reject(outcome.error);
      });
    } catch (error) {
      for (const w of batch) w.reject(error);
    }
  }
}
