/**
 * The SQL floor of a list import: the rows the import leaves behind for each
 * entry (its processed event id, its entry at the Wait, its execution-log rows,
 * its custom field writes), written by bare multi-row statements on a plain
 * mysql2 pool, chunks of 1,000 entries, two transactions in flight, with no
 * plug-in code, no reads, no queue. It is what MariaDB alone does for these
 * rows on this machine: a ceiling for any engine that keeps the same history
 * and guarantees (one event once, one live entry per subscriber, a log row per
 * action), so the import's rate is shown as a share of it.
 *
 * The rows go to a journey id no journey has (FLOOR_JOURNEY_ID) on the import's
 * own list, with values that differ from the import's, so every UPDATE changes
 * its row (an unchanged row costs InnoDB almost nothing).
 */
import { createPool, type Pool, type PoolConnection, type ResultSetHeader } from 'mysql2/promise';
import { customFieldColumn } from '../src/host/mysql/host-tables';
import { chunk } from '../src/runtime/queues';
import { now, type BenchHost } from './bench-support';

const FLOOR_JOURNEY_ID = 999_999;
const FLOOR_CHUNK = 1000;
const FLOOR_IN_FLIGHT = 2;

export interface SqlFloorResult {
  entries: number;
  logRows: number;
  ms: number;
  perSecond: number;
}

/** Same age rule as the bench journey's Yes/No (`fillList` sets age = 18 + id % 60). */
const isSenior = (subscriberId: number) => 18 + (subscriberId % 60) >= 40;

export async function sqlFloor(host: BenchHost, listId: number, subscriberIds: number[]): Promise<SqlFloorResult> {
  const { config } = host;
  const pool = createPool({
    host: config.DB_HOST,
    port: config.DB_PORT,
    user: config.DB_USER,
    password: config.DB_PASSWORD,
    database: config.DB_NAME,
    connectionLimit: FLOOR_IN_FLIGHT,
    timezone: 'Z',
  });
  try {
    const parts = chunk(subscriberIds, FLOOR_CHUNK);
    let next = 0;
    let logRows = 0;
    const t0 = now();
    await Promise.all(
      Array.from({ length: FLOOR_IN_FLIGHT }, async () => {
        while (next < parts.length) {
          const written = await writeChunk(host, pool, listId, parts[next++]);
          logRows += written;
        }
      }),
    );
    const ms = now() - t0;
    return { entries: subscriberIds.length, logRows, ms, perSecond: (subscriberIds.length * 1000) / ms };
  } finally {
    await pool.end();
  }
}

/** One transaction: events, entries, log rows, the two field writes. Returns the log rows written. */
async function writeChunk(host: BenchHost, pool: Pool, listId: number, ids: number[]): Promise<number> {
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    const at = new Date();
    const owner = host.demo.userA.userId;
    const eventId = (id: number) => `floor-${listId}-${id}`;
    await insert(conn, `INSERT IGNORE INTO \`${host.t.events}\` (EventID, ReceivedAt) VALUES ?`, [ids.map((id) => [eventId(id), at])]);
    const wakeAt = new Date(at.getTime() + 30 * 86_400_000);
    const [result] = await conn.query<ResultSetHeader>(
      `INSERT IGNORE INTO \`${host.t.entries}\`
         (JourneyID, RelOwnerUserID, ListID, SubscriberID, EntryNumber, State, CurrentActionID, WakeAt, StepSeq, ActiveLock,
          JourneyVersion, ChainID, ChainDepth, TriggerEvent, CreatedAt, UpdatedAt)
       VALUES ?`,
      [
        ids.map((id) => [
          FLOOR_JOURNEY_ID,
          owner,
          listId,
          id,
          1,
          'waiting',
          isSenior(id) ? 'wait_yes' : 'wait_no',
          wakeAt,
          1,
          1,
          2,
          eventId(id),
          0,
          JSON.stringify({ eventId: eventId(id), type: 'subscription', userId: owner, listId, subscriberId: id, occurredAt: at.toISOString() }),
          at,
          at,
        ]),
      ],
    );
    // innodb_autoinc_lock_mode 1: a multi-row INSERT's ids are consecutive from insertId.
    const log: unknown[][] = [];
    ids.forEach((id, i) => {
      const entryId = result.insertId + i;
      const row = (actionId: string, type: string, value: string) => [entryId, FLOOR_JOURNEY_ID, actionId, type, 'done', value, at, at];
      log.push(row('set_city', 'update_custom_field', `Floor import${id}@example.com`), row('is_40_plus', 'condition', isSenior(id) ? 'yes' : 'no'));
      if (isSenior(id)) log.push(row('tag_senior', 'update_custom_field', 'Floor senior'));
      log.push(row(isSenior(id) ? 'wait_yes' : 'wait_no', 'wait', wakeAt.toISOString()));
    });
    await insert(conn, `INSERT INTO \`${host.t.log}\` (EntryID, JourneyID, ActionID, ActionType, Status, Result, CreatedAt, CompletedAt) VALUES ?`, [log]);
    const table = host.tables.subscribers(listId);
    await setField(
      conn,
      table,
      customFieldColumn(host.demo.fields.city),
      ids.map((id) => [id, `Floor import${id}@example.com`]),
    );
    await setField(
      conn,
      table,
      customFieldColumn(host.demo.fields.firstName),
      ids.filter(isSenior).map((id) => [id, 'Floor senior']),
    );
    await conn.commit();
    return log.length;
  } catch (error) {
    await conn.rollback();
    throw error;
  } finally {
    conn.release();
  }
}

async function insert(conn: PoolConnection, sql: string, values: unknown[]): Promise<void> {
  await conn.query(sql, values);
}

/** One UPDATE for many rows, the way the reference host's custom field writer does it. */
async function setField(conn: PoolConnection, table: string, column: string, values: [number, string][]): Promise<void> {
  if (values.length === 0) return;
  await conn.query(
    `UPDATE \`${table}\` s JOIN JSON_TABLE(?, '$[*]' COLUMNS (SubscriberID INT UNSIGNED PATH '$[0]', Value LONGTEXT CHARACTER SET utf8mb4 PATH '$[1]')) v
        ON s.SubscriberID = v.SubscriberID SET s.\`${column}\` = v.Value`,
    [JSON.stringify(values)],
  );
}
