/**
 * Thin helpers over Sequelize raw queries. The runtime's hot path is a few
 * multi-row statements per batch, so it speaks SQL directly rather than
 * through model instances.
 */
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';

export type Row = Record<string, unknown>;

/** DATETIME(3) literal in UTC, keeping milliseconds (Sequelize's own escaping drops them). */
export function sqlDate(date: Date): string {
  return date.toISOString().slice(0, 23).replace('T', ' ');
}

export async function select<T = Row>(sequelize: Sequelize, sql: string, replacements: unknown[] = [], transaction?: Transaction | null): Promise<T[]> {
  return (await sequelize.query(sql, { replacements, transaction: transaction ?? undefined, type: QueryTypes.SELECT, raw: true })) as T[];
}

export interface Written {
  affectedRows: number;
  insertId: number;
}

export async function execute(sequelize: Sequelize, sql: string, replacements: unknown[] = [], transaction?: Transaction | null): Promise<Written> {
  const [result] = (await sequelize.query(sql, { replacements, transaction: transaction ?? undefined, raw: true })) as unknown as [Written, unknown];
  return { affectedRows: Number(result?.affectedRows ?? 0), insertId: Number(result?.insertId ?? 0) };
}

/** Error codes worth retrying: deadlock, lock wait timeout, lost / refused connection. */
export function isTransientDbError(error: unknown): boolean {
  const e = error as { parent?: { code?: string; errno?: number }; original?: { code?: string }; name?: string } | undefined;
  const code = e?.parent?.code ?? e?.original?.code;
  if (code && ['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'PROTOCOL_CONNECTION_LOST', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'].includes(code)) return true;
  return ['SequelizeConnectionError', 'SequelizeConnectionRefusedError', 'SequelizeConnectionAcquireTimeoutError', 'SequelizeTimeoutError'].includes(e?.name ?? '');
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
