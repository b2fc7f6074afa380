import type { Sequelize } from 'sequelize';
import { transactionWithRetry } from './journey.repository';

describe(transactionWithRetry.name, () => {
  const lockError = (code: string) => Object.assign(new Error(code), { parent: { code } });
  const fakeSequelize = (failures: Error[]) => {
    const calls = { n: 0 };
    const sequelize = {
      transaction: async (work: (t: unknown) => Promise<unknown>) => {
        calls.n++;
        const failure = failures.shift();
        if (failure) throw failure;
        return work({});
      },
    } as unknown as Sequelize;
    return { sequelize, calls };
  };

  it('runs the work again when InnoDB chose it as a deadlock victim', async () => {
    const { sequelize, calls } = fakeSequelize([lockError('ER_LOCK_DEADLOCK'), lockError('ER_LOCK_WAIT_TIMEOUT')]);
    await expect(transactionWithRetry(sequelize, async () => 'saved')).resolves.toBe('saved');
    expect(calls.n).toBe(3);
  });

  it('gives up after three deadlocks', async () => {
    const { sequelize, calls } = fakeSequelize([1, 2, 3].map(() => lockError('ER_LOCK_DEADLOCK')));
    await expect(transactionWithRetry(sequelize, async () => 'saved')).rejects.toThrow('ER_LOCK_DEADLOCK');
    expect(calls.n).toBe(3);
  });

  it('never repeats work that failed for another reason', async () => {
    const { sequelize, calls } = fakeSequelize([new Error('Conflict')]);
    await expect(transactionWithRetry(sequelize, async () => 'saved')).rejects.toThrow('Conflict');
    expect(calls.n).toBe(1);
  });
});
