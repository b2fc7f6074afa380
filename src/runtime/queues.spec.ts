import { chunk, runJobId, runJobOptions } from './queues';
import { lastWrites } from './host-batch';

describe(runJobId.name, () => {
  it('names one entry at one step, so the same wake-up is queued once', () => {
    expect(runJobId([{ entryId: 7, stepSeq: 3 }])).toBe('step:7:3');
    expect(runJobId([{ entryId: 7, stepSeq: 3 }], true)).toBe('wake:7:3');
  });

  it('names a batch by its entries and steps, whatever their order', () => {
    const a = runJobId([
      { entryId: 1, stepSeq: 0 },
      { entryId: 2, stepSeq: 0 },
    ]);
    expect(
      runJobId([
        { entryId: 2, stepSeq: 0 },
        { entryId: 1, stepSeq: 0 },
      ]),
    ).toBe(a);
    expect(
      runJobId([
        { entryId: 1, stepSeq: 1 },
        { entryId: 2, stepSeq: 0 },
      ]),
    ).not.toBe(a);
  });
});

describe(runJobOptions.name, () => {
  it('removes finished jobs so their ids can be used again, and retries with backoff', () => {
    expect(runJobOptions('x', 1500)).toMatchObject({ jobId: 'x', delay: 1500, removeOnComplete: true, removeOnFail: true, attempts: 5 });
    expect(runJobOptions('x').delay).toBeUndefined();
  });
});

describe(chunk.name, () => {
  it('cuts into pieces of at most the size', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });
});

describe(lastWrites.name, () => {
  it('keeps the last write of each subscriber and field', () => {
    expect(
      lastWrites([
        { subscriberId: 1, fieldId: 2, value: 'a' },
        { subscriberId: 1, fieldId: 3, value: 'b' },
        { subscriberId: 1, fieldId: 2, value: 'c' },
      ]),
    ).toEqual([
      { subscriberId: 1, fieldId: 3, value: 'b' },
      { subscriberId: 1, fieldId: 2, value: 'c' },
    ]);
  });
});
