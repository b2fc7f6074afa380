import { EventCoalescer } from './event-coalescer';

/** A run() the test finishes by hand, recording each batch. */
function scripted() {
  const batches: number[][] = [];
  const pending: { items: number[]; finish(fail?: Error): void }[] = [];
  const run = (items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      batches.push(items);
      pending.push({ items, finish: (fail) => (fail ? reject(fail) : resolve(items.map((i) => `r${i}`))) });
    });
  return { batches, pending, run };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe(EventCoalescer.name, () => {
  it('sends what arrives in one turn of the event loop as one batch, and answers each caller with its own result', async () => {
    const { batches, pending, run } = scripted();
    const coalescer = new EventCoalescer<number, string>({ maxBatch: 100, maxInFlight: 2, maxWaiting: 100, run });
    const answers = Promise.all([1, 2, 3].map((i) => coalescer.submit(i)));
    await tick();
    expect(batches).toEqual([[1, 2, 3]]);
    pending[0].finish();
    expect(await answers).toEqual(['r1', 'r2', 'r3']);
  });

  it('while the batches in flight are busy, items wait and go out together when a slot frees, maxBatch at a time', async () => {
    const { batches, pending, run } = scripted();
    const coalescer = new EventCoalescer<number, string>({ maxBatch: 3, maxInFlight: 1, maxWaiting: 100, run });
    const first = coalescer.submit(1);
    await tick();
    const later = [2, 3, 4, 5, 6, 7].map((i) => coalescer.submit(i));
    await tick();
    expect(batches).toEqual([[1]]);
    expect(coalescer.backlog).toBe(7);
    pending[0].finish();
    await first;
    await tick();
    expect(batches).toEqual([[1], [2, 3, 4]]);
    pending[1].finish();
    await tick();
    await tick();
    expect(batches).toEqual([[1], [2, 3, 4], [5, 6, 7]]);
    pending[2].finish();
    expect(await Promise.all(later)).toEqual(['r2', 'r3', 'r4', 'r5', 'r6', 'r7']);
    expect(coalescer.backlog).toBe(0);
  });

  it('with extraBatchAt, starts a second batch only while that many items wait', async () => {
    const { batches, pending, run } = scripted();
    const coalescer = new EventCoalescer<number, string>({ maxBatch: 100, maxInFlight: 2, maxWaiting: 100, extraBatchAt: 3, run });
    const first = coalescer.submit(1);
    await tick();
    const few = [2, 3].map((i) => coalescer.submit(i));
    await tick();
    expect(batches).toEqual([[1]]); // two waiting: they wait for the first batch
    const more = [4].map((i) => coalescer.submit(i));
    await tick();
    expect(batches).toEqual([[1], [2, 3, 4]]); // three waiting: a second batch runs beside the first
    pending.forEach((p) => p.finish());
    expect(await Promise.all([first, ...few, ...more])).toEqual(['r1', 'r2', 'r3', 'r4']);
  });

  it('holds callers beyond maxWaiting until there is room, and says it is full meanwhile', async () => {
    const { batches, pending, run } = scripted();
    const coalescer = new EventCoalescer<number, string>({ maxBatch: 10, maxInFlight: 1, maxWaiting: 2, run });
    const first = coalescer.submit(1);
    await tick(); // 1 is in flight
    const queued = [coalescer.submit(2), coalescer.submit(3)];
    await tick();
    expect(coalescer.full).toBe(true);
    const heldBack = coalescer.submit(4);
    await tick();
    expect(coalescer.backlog).toBe(3); // 4 is not taken in yet
    pending[0].finish();
    await first;
    await tick();
    await tick();
    expect(batches[1]).toEqual([2, 3]); // the slot took the waiting items; 4 got room after them
    pending[1].finish();
    await Promise.all(queued);
    await tick();
    await tick();
    expect(batches[2]).toEqual([4]);
    pending[2].finish();
    expect(await heldBack).toBe('r4');
  });

  it('retries a failed batch item by item, so one bad item fails only its own caller', async () => {
    const coalescer = new EventCoalescer<number, string>({
      maxBatch: 10,
      maxInFlight: 1,
      maxWaiting: 10,
      run: async (items) => {
        if (items.includes(2)) throw new Error(`bad ${items.join(',')}`);
        return items.map((i) => `r${i}`);
      },
    });
    const answers = await Promise.allSettled([1, 2, 3].map((i) => coalescer.submit(i)));
    expect(answers).toEqual([
      { status: 'fulfilled', value: 'r1' },
      { status: 'rejected', reason: new Error('bad 2') },
      { status: 'fulfilled', value: 'r3' },
    ]);
  });
});
