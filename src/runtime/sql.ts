/**
 * Thin helpers over Sequelize raw queries. The runtime's hot path is a few
 * multi-row statements per batch, so it speaks SQL directly rather than
 * through model instances.
 */
import { DatabaseError, QueryTypes, type Sequelize, type Transaction } from 'sequelize';

export type Row = Record<string, unknown>;

/** DATETIME(3) literal in UTC, keeping milliseconds (Sequelize's own escaping drops them). */
export function sqlDate(date: Date): string {
  return date.toISOString().slice(0, 23).replace('T', ' ');
}

export async function select<T = Row>(sequelize: Sequelize, sql: string, replacements: unknown[] = [], transaction?: Transaction | null): Promise<T[]> {
  const raw = rawConnectionOf(sequelize, transaction);
  if (raw) return (await rawQuery(raw, sql, replacements, transaction!)) as T[];
  return (await sequelize.query(sql, { replacements, transaction: transaction ?? undefined, type: QueryTypes.SELECT, raw: true })) as T[];
}

export interface Written {
  affectedRows: number;
  insertId: number;
}

export async function execute(sequelize: Sequelize, sql: string, replacements: unknown[] = [], transaction?: Transaction | null): Promise<Written> {
  const raw = rawConnectionOf(sequelize, transaction);
  const result = raw
    ? ((await rawQuery(raw, sql, replacements, transaction!)) as Written | undefined)
    : ((await sequelize.query(sql, { replacements, transaction: transaction ?? undefined, raw: true })) as unknown as [Written, unknown])[0];
  return { affectedRows: Number(result?.affectedRows ?? 0), insertId: Number(result?.insertId ?? 0) };
}

type RawCallback = (error: (Error & { code?: string }) | null, result: unknown) => void;

/** The callback API of a mysql2 connection (what Sequelize's mysql dialect holds a transaction on). */
interface RawConnection {
  query(sql: string, values: unknown[], callback: RawCallback): unknown;
}

/**
 * Inside a live transaction of the mysql dialect, the runtime's statements go
 * straight to the transaction's mysql2 connection: mysql2 formats the
 * replacements once (the same `?` rules: arrays become lists, nested arrays
 * rows of a multi-row VALUES, dates in the connection's time zone), where
 * Sequelize would format the statement and mysql2 then scan the whole
 * formatted text again; for the multi-row statements of a list import that is
 * a good share of the process's CPU and garbage. Results come back as
 * Sequelize's raw queries give them (row objects; the OK packet), errors as
 * Sequelize's DatabaseError (parent / original carry the driver's code).
 */
function rawConnectionOf(sequelize: Sequelize, transaction?: Transaction | null): RawConnection | null {
  if (!transaction || sequelize.getDialect() !== 'mysql') return null;
  const tx = transaction as unknown as { finished?: string; connection?: Partial<RawConnection> };
  if (tx.finished || typeof tx.connection?.query !== 'function') return null; // Sequelize reports a finished transaction
  return tx.connection as RawConnection;
}

async function rawQuery(connection: RawConnection, sql: string, replacements: unknown[], transaction: Transaction): Promise<unknown> {
  try {
    return await new Promise((resolve, reject) => {
      connection.query(sql, replacements, (error, result) => (error ? reject(error) : resolve(result)));
    });
  } catch (error) {
    const driverError = error as Error & { sql: string; errno?: number };
    if (driverError.errno === ER_LOCK_DEADLOCK) {
      // As Sequelize's own query does: InnoDB rolled the transaction back, so end it here and mark it finished;
      // a later statement on it then fails instead of running outside any transaction.
      try {
        await transaction.rollback();
      } catch {
        // already gone
      }
      (transaction as unknown as { finished?: string }).finished = 'rollback';
    }
    throw new DatabaseError(driverError);
  }
}

const ER_LOCK_DEADLOCK = 1213;

/** Error codes worth retrying: deadlock, lock wait timeout, lost / refused connection. */
export function isTransientDbError(error: unknown): boolean {
  const e = error as { parent?: { code?: string; errno?: number }; original?: { code?: string }; name?: string } | undefined;
  const code = e?.parent?.code ?? e?.original?.code;
  if (code && ['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'PROTOCOL_CONNECTION_LOST', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'].includes(code)) return true;
  return ['SequelizeConnectionError', 'SequelizeConnectionRefusedError', 'SequelizeConnectionAcquireTimeoutError', 'SequelizeTimeoutError'].includes(
    e?.name ?? '',
  );
}

/** Runs `work` again (a fresh transaction) after a deadlock or lost connection, a few times with a short jittered pause. */
export async function withDbRetry<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isTransientDbError(error)) throw error;
      await new Promise((r) => setTimeout(r, 25 * attempt + Math.random() * 50));
    }
  }
}
