/**
 * The runtime's own database access on mysql2: a pool, typed statements,
 * READ COMMITTED transactions with savepoints and after-commit hooks.
 *
 * Why not Sequelize here: the runtime's hot path is a few multi-row
 * statements per batch. Through Sequelize every statement is formatted twice
 * (Sequelize escapes the replacements, then mysql2 scans the whole text again),
 * which was a good share of a list import's CPU; the earlier shortcut reached
 * into Sequelize's transaction internals to avoid it. mysql2 formats `?` once
 * (arrays become lists, nested arrays the rows of a multi-row VALUES) and its
 * API is public. Sequelize stays for the journey definitions (models) and the
 * migrations; code that lives in a Sequelize transaction hands it to the
 * runtime as a SqlSession with `sequelizeSession()`.
 */
import { createPool, type Pool, type PoolConnection } from 'mysql2';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { DatabaseConfig } from './database';

export interface Written {
  affectedRows: number;
  insertId: number;
}

/** Where statements run: the pool (each statement on its own), or an open transaction. */
export interface SqlSession {
  select<T>(sql: string, values?: readonly unknown[]): Promise<T[]>;
  execute(sql: string, values?: readonly unknown[]): Promise<Written>;
}

/**
 * An open transaction. This is also what the host contract's `transaction`
 * argument is: a host writing to the same database runs its statements
 * through `select` / `execute` and they commit with the plug-in's claim.
 */
export interface SqlTransaction extends SqlSession {
  /** Runs `work` in a savepoint: its statements are undone when it throws, and the transaction goes on. */
  savepoint<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  /** Runs `callback` once the transaction has committed (never on rollback). */
  afterCommit(callback: () => void): void;
}

/** Duck-typed check for a SqlSession handed through the host contract's `transaction?: unknown`. */
export function isSqlSession(value: unknown): value is SqlSession {
  const v = value as Partial<SqlSession> | null | undefined;
  return !!v && typeof v.select === 'function' && typeof v.execute === 'function';
}

/** DATETIME(3) literal in UTC, keeping milliseconds. */
export function sqlDate(date: Date): string {
  return date.toISOString().slice(0, 23).replace('T', ' ');
}

const ER_LOCK_DEADLOCK = 1213;
const TRANSIENT_CODES = ['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'PROTOCOL_CONNECTION_LOST', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'];
const TRANSIENT_SEQUELIZE_ERRORS = [
  'SequelizeConnectionError',
  'SequelizeConnectionRefusedError',
  'SequelizeConnectionAcquireTimeoutError',
  'SequelizeTimeoutError',
];

/** Deadlock, lock wait timeout, lost or refused connection: worth running again in a fresh transaction. */
export function isTransientDbError(error: unknown): boolean {
  return transientDbErrorCode(error) !== null;
}

/** The code of a transient database error (`ECONNREFUSED`, `ER_LOCK_WAIT_TIMEOUT`, `SequelizeConnectionError`…), null for any other error. */
export function transientDbErrorCode(error: unknown): string | null {
  const e = error as { code?: string; parent?: { code?: string }; original?: { code?: string }; name?: string } | null | undefined;
  const code = e?.code ?? e?.parent?.code ?? e?.original?.code;
  if (code && TRANSIENT_CODES.includes(code)) return code;
  return TRANSIENT_SEQUELIZE_ERRORS.includes(e?.name ?? '') ? e!.name! : null;
}

/** Runs `work` again after a transient database error, a few times with a short jittered pause. */
export async function withDbRetry<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isTransientDbError(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25 * attempt + Math.random() * 50));
    }
  }
}

type Callback = (error: (Error & { errno?: number }) | null, result: unknown) => void;

function run(target: { query(sql: string, values: unknown, callback: Callback): unknown }, sql: string, values: readonly unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    target.query(sql, values, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

function written(result: unknown): Written {
  const r = result as Partial<Written> | undefined;
  return { affectedRows: Number(r?.affectedRows ?? 0), insertId: Number(r?.insertId ?? 0) };
}

class MysqlTransaction implements SqlTransaction {
  /** Set when the server ended the transaction on its own (a deadlock rolls it back): later statements must fail, not run outside it. */
  finished: string | null = null;
  private readonly committed: (() => void)[] = [];
  private savepoints = 0;

  constructor(private readonly connection: PoolConnection) {}

  async select<T>(sql: string, values: readonly unknown[] = []): Promise<T[]> {
    return (await this.query(sql, values)) as T[];
  }

  async execute(sql: string, values: readonly unknown[] = []): Promise<Written> {
    return written(await this.query(sql, values));
  }

  async savepoint<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    const name = `sp${++this.savepoints}`;
    await this.query(`SAVEPOINT ${name}`, []);
    try {
      const result = await work(this);
      await this.query(`RELEASE SAVEPOINT ${name}`, []);
      return result;
    } catch (error) {
      if (!this.finished) await this.query(`ROLLBACK TO SAVEPOINT ${name}`, []);
      throw error;
    }
  }

  afterCommit(callback: () => void): void {
    this.committed.push(callback);
  }

  async query(sql: string, values: readonly unknown[]): Promise<unknown> {
    if (this.finished) throw new Error(`The transaction was ${this.finished} by the server; statement not run: ${sql.slice(0, 80)}`);
    try {
      return await run(this.connection, sql, values);
    } catch (error) {
      if ((error as { errno?: number }).errno === ER_LOCK_DEADLOCK) this.finished = 'rolled back after a deadlock';
      throw error;
    }
  }

  runAfterCommit(): void {
    for (const callback of this.committed.splice(0)) callback();
  }
}

export class Db implements SqlSession {
  private readonly pool: Pool;

  constructor(config: DatabaseConfig) {
    this.pool = createPool({
      host: config.DB_HOST,
      port: config.DB_PORT,
      user: config.DB_USER,
      password: config.DB_PASSWORD,
      database: config.DB_NAME,
      connectionLimit: config.DB_POOL_MAX,
      timezone: 'Z',
      supportBigNumbers: true,
      bigNumberStrings: false,
      dateStrings: false,
      enableKeepAlive: true,
      charset: 'utf8mb4',
    });
    // Every runtime transaction reads committed data: set once per connection instead of per transaction.
    this.pool.on('connection', (connection) => {
      connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
    });
  }

  async select<T>(sql: string, values: readonly unknown[] = []): Promise<T[]> {
    return (await run(this.pool, sql, values)) as T[];
  }

  async execute(sql: string, values: readonly unknown[] = []): Promise<Written> {
    return written(await run(this.pool, sql, values));
  }

  /** Runs `work` in a READ COMMITTED transaction: committed when it returns, rolled back when it throws. */
  async transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    const connection = await new Promise<PoolConnection>((resolve, reject) => this.pool.getConnection((error, c) => (error ? reject(error) : resolve(c))));
    let broken = false;
    try {
      await run(connection, 'START TRANSACTION', []);
      const tx = new MysqlTransaction(connection);
      let result: T;
      try {
        result = await work(tx);
        if (tx.finished) throw new Error(`The transaction was ${tx.finished} by the server`);
        await run(connection, 'COMMIT', []);
      } catch (error) {
        await run(connection, 'ROLLBACK', []).catch(() => (broken = true));
        throw error;
      }
      tx.runAfterCommit();
      return result;
    } catch (error) {
      if (isConnectionError(error)) broken = true;
      throw error;
    } finally {
      if (broken) connection.destroy();
      else connection.release();
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.pool.end((error) => (error ? reject(error) : resolve())));
  }
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string; fatal?: boolean } | null)?.code;
  return (error as { fatal?: boolean } | null)?.fatal === true || code === 'PROTOCOL_CONNECTION_LOST' || code === 'ECONNRESET';
}

/**
 * A SqlSession over Sequelize's public query API, for code that already holds
 * a Sequelize transaction (the journey definitions) and asks the runtime to
 * write entries in it. Statements are formatted by Sequelize's replacements
 * (`?` with the same array rules); dates must be passed as sqlDate() strings.
 */
export function sequelizeSession(sequelize: Sequelize, transaction?: Transaction): SqlSession {
  return {
    async select<T>(sql: string, values: readonly unknown[] = []): Promise<T[]> {
      return (await sequelize.query(sql, { replacements: [...values], transaction, type: QueryTypes.SELECT, raw: true })) as T[];
    },
    async execute(sql: string, values: readonly unknown[] = []): Promise<Written> {
      const [result] = (await sequelize.query(sql, { replacements: [...values], transaction, raw: true })) as unknown as [unknown, unknown];
      return written(result);
    },
  };
}
