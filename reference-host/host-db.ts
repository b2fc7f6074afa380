/**
 * The mysql2 pool of the host's subscription path: plain statements with no
 * ORM in between, sent several to a round trip (the path must take ≥ 1,000
 * sign-ups/s on two cores, where each socket write costs), and two settings
 * the path relies on:
 * - READ COMMITTED: a search takes no gap locks, so looking for a missing row
 *   never blocks (or deadlocks) another sign-up's insert;
 * - affected rows count changed rows only (no CLIENT_FOUND_ROWS, as PHP's
 *   mysqli does by default), so `INSERT … ON DUPLICATE KEY UPDATE` answers
 *   1 when it inserted and 0 or 2 when the row was already there.
 * Multiple statements per query are on for this pool only; every value still
 * goes through a `?` placeholder.
 */
import { createPool, type Pool, type PoolConnection, type ResultSetHeader } from 'mysql2/promise';
import type { DatabaseConfig } from '../src/database/database';
import { hostTables, type HostTables } from '../src/host/mysql/host-tables';
import { referenceHostTables, type ReferenceHostTables } from './schema';

export type HostDb = Pool;

export function createHostDb(config: DatabaseConfig): HostDb {
  const pool = createPool({
    host: config.DB_HOST,
    port: config.DB_PORT,
    user: config.DB_USER,
    password: config.DB_PASSWORD,
    database: config.DB_NAME,
    connectionLimit: config.DB_POOL_MAX,
    flags: ['-FOUND_ROWS'],
    multipleStatements: true,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: false,
  });
  // Runs before the connection is handed out: commands on one connection run in order.
  pool.pool.on('connection', (connection) => void connection.promise().query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED'));
  return pool;
}

export type Statement = readonly [sql: string, params: unknown[]];

/** What a path's statement file builds on: the table names under the prefix, and the read of list owners every path starts with. */
export abstract class HostStatements {
  protected readonly tables: HostTables;
  protected readonly own: ReferenceHostTables;

  constructor(prefix: string) {
    this.tables = hostTables(prefix);
    this.own = referenceHostTables(prefix);
  }

  /** Rows `{ ListID, RelOwnerUserID }` of these lists. */
  lists(listIds: number[]): Statement {
    return [`SELECT ListID, RelOwnerUserID FROM \`${this.tables.lists}\` WHERE ListID IN (?)`, [listIds]];
  }
}

/** Sends the statements in one round trip (outside a transaction each commits alone); one answer per statement (rows for a SELECT, a ResultSetHeader otherwise). */
export async function sendTogether(db: Pool | PoolConnection, statements: Statement[]): Promise<unknown[]> {
  const [results] = await db.query(
    statements.map(([sql]) => sql).join(';\n'),
    statements.flatMap(([, params]) => params),
  );
  return statements.length === 1 ? [results] : (results as unknown[]);
}

/** Several reads in one round trip, outside any transaction. */
export function readTogether(db: HostDb, statements: Statement[]): Promise<unknown[]> {
  return statements.length === 0 ? Promise.resolve([]) : sendTogether(db, statements);
}

interface Queued {
  statement: Statement;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

/**
 * One transaction on one connection whose statements travel in as few round
 * trips as possible: `later` queues a statement whose answer the transaction
 * does not need yet, `now` sends the queue with one more statement and waits
 * for its answer, and commit sends what is left with the COMMIT. A queued
 * statement that fails fails the whole transaction.
 */
export class HostTransaction {
  private queue: Queued[] = [];

  constructor(private readonly connection: PoolConnection) {
    void this.later('START TRANSACTION', []);
  }

  /** Its answer arrives with the next round trip (awaiting it before commit would wait for ever: call `now` for that). */
  later<T = ResultSetHeader>(sql: string, params: unknown[]): Promise<T> {
    return handled(
      new Promise<T>((resolve, reject) => {
        this.queue.push({ statement: [sql, params], resolve: resolve as (result: unknown) => void, reject });
      }),
    );
  }

  async now<T = ResultSetHeader>(sql: string, params: unknown[]): Promise<T> {
    const answer = this.later<T>(sql, params);
    await this.flush();
    return answer;
  }

  /** Sends what is queued (the answers arrive on the queued statements' promises). */
  async send(): Promise<void> {
    if (this.queue.length > 0) await this.flush();
  }

  async commit(): Promise<void> {
    await this.now('COMMIT', []);
  }

  /** Drops what was not sent and rolls back; false when the connection could not even do that. */
  async rollback(): Promise<boolean> {
    for (const queued of this.queue.splice(0)) queued.reject(new Error('the transaction was rolled back'));
    return this.connection.query('ROLLBACK').then(
      () => true,
      () => false,
    );
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0);
    try {
      const results = await sendTogether(
        this.connection,
        batch.map((q) => q.statement),
      );
      batch.forEach((q, i) => q.resolve(results[i]));
    } catch (error) {
      for (const q of batch) q.reject(error);
      throw error;
    }
  }
}

/** `work` in one transaction: committed when it returns, rolled back when it throws. */
export async function inTransaction<T>(db: HostDb, work: (tx: HostTransaction) => Promise<T>): Promise<T> {
  const connection = await db.getConnection();
  const tx = new HostTransaction(connection);
  let reusable = true;
  try {
    const result = await work(tx);
    await tx.commit();
    return result;
  } catch (error) {
    reusable = await tx.rollback();
    throw error;
  } finally {
    if (reusable) connection.release();
    else connection.destroy();
  }
}

/**
 * Marks a queued statement's answer as handled: nobody need await it, since a
 * failure reaches the transaction through the round trip that carried it.
 */
export function handled<T>(answer: Promise<T>): Promise<T> {
  answer.catch(() => undefined);
  return answer;
}

/** The server's error code of a failed statement (ER_DUP_ENTRY, ER_LOCK_DEADLOCK, …). */
export function dbErrorCode(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}
