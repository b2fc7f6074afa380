/**
 * The runtime's database module (src/database/db.ts) on real MariaDB:
 * formatting, commit and rollback, savepoints, after-commit hooks, and a
 * deadlock that ends the transaction so no later statement can run outside it.
 */
import { randomBytes } from 'crypto';
import type { Sequelize } from 'sequelize';
import { loadConfig } from '../src/config/env';
import { createSequelize } from '../src/database/database';
import { Db, isTransientDbError, sequelizeSession, sqlDate, type SqlTransaction } from '../src/database/db';

describe(Db.name, () => {
  const config = loadConfig({ ...process.env, ROLE: 'web', DB_POOL_MAX: '4' });
  const table = `tdb${randomBytes(4).toString('hex')}_probe`;
  let db: Db;
  let sequelize: Sequelize;

  beforeAll(async () => {
    db = new Db(config);
    sequelize = createSequelize(config);
    await db.execute(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY, v INT NOT NULL, at DATETIME(3) NULL, note VARCHAR(20) NULL) ENGINE=InnoDB`);
  });
  beforeEach(async () => {
    await db.execute(`DELETE FROM \`${table}\``);
    await db.execute(`INSERT INTO \`${table}\` (id, v) VALUES ?`, [
      [
        [1, 0],
        [2, 0],
      ],
    ]);
  });
  afterAll(async () => {
    await db.execute(`DROP TABLE IF EXISTS \`${table}\``);
    await db.close();
    await sequelize.close();
  });

  const values = async () => (await db.select<{ id: number; v: number }>(`SELECT id, v FROM \`${table}\` ORDER BY id`)).map((r) => [r.id, r.v]);

  it('formats ? once: lists, multi-row VALUES, nulls, quotes and millisecond dates, the same as through Sequelize', async () => {
    const sql = `SELECT id FROM \`${table}\` WHERE id IN (?) AND ? IS NULL AND ? = 'it''s' ORDER BY id`;
    const args = [[1, 2], null, "it's"];
    expect(await db.select(sql, args)).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await sequelizeSession(sequelize).select(sql, args)).toEqual([{ id: 1 }, { id: 2 }]);
    await db.execute(`UPDATE \`${table}\` SET at = ? WHERE id = 1`, [sqlDate(new Date('2026-11-30T10:11:12.345Z'))]);
    const [row] = await db.select<{ at: Date }>(`SELECT at FROM \`${table}\` WHERE id = 1`);
    expect(row.at.toISOString()).toBe('2026-11-30T10:11:12.345Z');
  });

  it('commits when the work returns, rolls back when it throws, and runs after-commit hooks only after a commit', async () => {
    const committed: string[] = [];
    await db.transaction(async (tx) => {
      await tx.execute(`UPDATE \`${table}\` SET v = 1 WHERE id = 1`);
      tx.afterCommit(() => committed.push('first'));
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.execute(`UPDATE \`${table}\` SET v = 9 WHERE id = 2`);
        tx.afterCommit(() => committed.push('second'));
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await values()).toEqual([
      [1, 1],
      [2, 0],
    ]);
    expect(committed).toEqual(['first']);
  });

  it('a savepoint undoes only its own statements, and the transaction goes on', async () => {
    await db.transaction(async (tx) => {
      await tx.execute(`UPDATE \`${table}\` SET v = 5 WHERE id = 1`);
      await expect(
        tx.savepoint(async (sp) => {
          await sp.execute(`UPDATE \`${table}\` SET v = 7 WHERE id = 2`);
          throw new Error('inner');
        }),
      ).rejects.toThrow('inner');
      await tx.savepoint((sp) => sp.execute(`UPDATE \`${table}\` SET v = 6 WHERE id = 2`));
    });
    expect(await values()).toEqual([
      [1, 5],
      [2, 6],
    ]);
  });

  it('a deadlock is transient and ends its transaction: a later statement on it fails instead of running outside it', async () => {
    let release!: () => void;
    const bothLocked = new Promise<void>((resolve) => (release = resolve));
    let locks = 0;
    const lockedOne = () => {
      if (++locks === 2) release();
      return bothLocked;
    };
    const victimAfterwards: unknown[] = [];
    const run = (first: number, second: number, v: number) =>
      db
        .transaction(async (tx: SqlTransaction) => {
          await tx.execute(`UPDATE \`${table}\` SET v = ? WHERE id = ?`, [v, first]);
          await lockedOne();
          try {
            await tx.execute(`UPDATE \`${table}\` SET v = ? WHERE id = ?`, [v, second]);
          } catch (error) {
            // Swallowed on purpose: the transaction must still refuse to go on.
            victimAfterwards.push(await tx.execute(`UPDATE \`${table}\` SET note = 'outside' WHERE id = ?`, [first]).catch((e: unknown) => e));
            throw error;
          }
        })
        .then(
          () => null,
          (e: unknown) => e,
        );
    const errors = (await Promise.all([run(1, 2, 1), run(2, 1, 2)])).filter((e) => e !== null);
    expect(errors).toHaveLength(1);
    expect(isTransientDbError(errors[0])).toBe(true);
    expect(String(victimAfterwards[0])).toMatch(/rolled back after a deadlock/);
    const notes = await db.select<{ note: string | null }>(`SELECT note FROM \`${table}\``);
    expect(notes.map((n) => n.note)).toEqual([null, null]);
  });
});
