/**
 * Long waits cost Redis almost nothing: WAITING_COUNT entries (default
 * 1,000,000) parked on a 30-day Wait, inserted in bulk into the entries table
 * (setup, not the engine), then one sweeper pass. Printed: Redis keys and bytes
 * under this run's QUEUE_PREFIX and INFO used_memory before and after, the
 * sweeper's statements on the 1M-row table with their times and EXPLAIN (the
 * wait query must use idx_wake).
 *
 * Baseline, same run: the naive design, one Bull delayed job per waiting entry
 * (same payload and job options as the runtime's wake jobs): NAIVE_JOBS
 * (default 20,000) added to a throw-away queue, the Redis delta measured and
 * extrapolated to WAITING_COUNT.
 *
 * A control group of NEAR_DUE entries (default 1,000) waking within the wake
 * horizon shows the sweeper does queue what is near (grouped into few jobs).
 *
 *   npm run build && node dist/bench/long-waits.bench.js
 *   node -r @swc-node/register bench/long-waits.bench.ts
 */
import Bull from 'bull';
import Redis from 'ioredis';
import { DB } from '../src/core/tokens';
import type { Db } from '../src/database/db';
import { EntryQueue } from '../src/runtime/entry-queue.service';
import { chunk, runJobId, runJobOptions } from '../src/runtime/queues';
import { Sweeper } from '../src/runtime/sweeper.service';
import {
  count,
  createEnabledJourney,
  deleteKeys,
  envInt,
  insertWaiting,
  fmtBytes,
  fmtInt,
  fmtMs,
  log,
  machineNote,
  met,
  now,
  printTable,
  redisFootprint,
  usedMemory,
  withHost,
  type BenchHost,
  type TableRow,
} from './bench-support';
import { ResourceMonitor, resourceRows, rssTargetMet } from './bench-resources';

export interface LongWaitsBenchOptions {
  waitingCount: number;
  nearDue: number;
  naiveJobs: number;
}

export function longWaitsOptionsFromEnv(): LongWaitsBenchOptions {
  return {
    waitingCount: envInt('WAITING_COUNT', 1_000_000),
    nearDue: process.env.NEAR_DUE === '0' ? 0 : envInt('NEAR_DUE', 1_000),
    naiveJobs: envInt('NAIVE_JOBS', 20_000),
  };
}

const DAY_MS = 86_400_000;

interface Captured {
  sql: string;
  replacements: unknown[];
  ms: number;
}

/** Runs the sweeper once, capturing the statements it sends to MySQL (through the runtime's Db) with their times. */
async function sweepCapturing(host: BenchHost): Promise<{ ms: number; report: Awaited<ReturnType<Sweeper['sweep']>>; statements: Captured[] }> {
  const db = host.app.get<Db>(DB);
  const statements: Captured[] = [];
  const original = db.select.bind(db);
  db.select = async <T>(sql: string, values: readonly unknown[] = []): Promise<T[]> => {
    const t = now();
    try {
      return await original<T>(sql, values);
    } finally {
      statements.push({ sql, replacements: [...values], ms: now() - t });
    }
  };
  try {
    const t0 = now();
    const report = await host.app.get(Sweeper).sweep();
    return { ms: now() - t0, report, statements };
  } finally {
    db.select = original;
  }
}

interface ExplainRow {
  id: number;
  select_type: string;
  table: string;
  type: string;
  possible_keys: string | null;
  key: string | null;
  key_len: string | null;
  ref: string | null;
  rows: number;
  Extra: string | null;
}

async function explain(host: BenchHost, statement: Captured): Promise<ExplainRow[]> {
  return host.app.get<Db>(DB).select<ExplainRow>(`EXPLAIN ${statement.sql}`, statement.replacements);
}

async function timeMedian(host: BenchHost, statement: Captured, runs = 5): Promise<number> {
  const db = host.app.get<Db>(DB);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = now();
    await db.select(statement.sql, statement.replacements);
    times.push(now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

const oneLine = (sql: string) => sql.replace(/\s+/g, ' ').trim();

/** The naive design: one Bull delayed job per waiting entry, in a throw-away queue. */
async function naiveDelayedJobs(host: BenchHost, redis: Redis, jobs: number): Promise<{ keys: number; bytes: number; usedDelta: number; addMs: number }> {
  const prefix = `${host.config.QUEUE_PREFIX}naive`;
  const queue = new Bull('journeys-entries', { prefix, redis: { host: host.config.REDIS_HOST, port: host.config.REDIS_PORT, db: host.config.REDIS_DB } });
  try {
    await queue.isReady();
    const before = await redisFootprint(redis, prefix);
    const usedBefore = await usedMemory(redis);
    const delay = 30 * DAY_MS;
    const t0 = now();
    for (const ids of chunk(
      Array.from({ length: jobs }, (_, i) => 10_000_000 + i),
      1000,
    )) {
      await queue.addBulk(
        ids.map((entryId) => ({ name: 'run-entries', data: { entryIds: [entryId] }, opts: runJobOptions(runJobId([{ entryId, stepSeq: 1 }], true), delay) })),
      );
    }
    const addMs = now() - t0;
    const usedAfter = await usedMemory(redis);
    const after = await redisFootprint(redis, prefix);
    return { keys: after.keys - before.keys, bytes: after.bytes - before.bytes, usedDelta: usedAfter - usedBefore, addMs };
  } finally {
    await queue.close();
    await deleteKeys(redis, prefix);
  }
}

export async function runLongWaitsBench(opts: LongWaitsBenchOptions): Promise<{ rows: TableRow[] }> {
  return withHost({ ROLE: 'all', SWEEP_INTERVAL_SECONDS: '3600', LOG_LEVEL: 'silent' }, async (host) => {
    const redis = new Redis({ host: host.config.REDIS_HOST, port: host.config.REDIS_PORT, db: host.config.REDIS_DB });
    const monitor = await ResourceMonitor.start(host.config);
    try {
      const { lists } = host.demo;
      const longJourney = await createEnabledJourney(host, 'Bench: 30-day nurture', { type: 'subscription', listIds: [lists.newsletter] }, [
        { id: 'long_wait', type: 'wait', settings: { amount: 30, unit: 'days' } },
        { id: 'after', type: 'update_custom_field', settings: { fieldId: host.demo.fields.city, value: 'Nurtured' } },
      ]);
      const nearJourney = await createEnabledJourney(host, 'Bench: near wake-up (control)', { type: 'subscription', listIds: [lists.customers] }, [
        { id: 'short_wait', type: 'wait', settings: { amount: 4, unit: 'minutes' } },
        { id: 'after', type: 'update_custom_field', settings: { fieldId: host.demo.fields.city, value: 'Woken' } },
      ]);

      log(`sandbox ${host.prefix} / ${host.config.QUEUE_PREFIX}; inserting ${fmtInt(opts.waitingCount)} waiting entries`);
      const s0 = now();
      const start = new Date();
      await insertWaiting(host, {
        journeyId: longJourney,
        actionId: 'long_wait',
        listId: lists.newsletter,
        firstSubscriber: 1,
        n: opts.waitingCount,
        from: new Date(start.getTime() + 30 * DAY_MS),
        spreadSeconds: 86_400,
      });
      if (opts.nearDue > 0) {
        const from = new Date(start.getTime() + 4 * 60_000);
        await insertWaiting(host, {
          journeyId: nearJourney,
          actionId: 'short_wait',
          listId: lists.newsletter,
          firstSubscriber: 1,
          n: opts.nearDue,
          from,
          spreadSeconds: 1,
        });
      }
      await host.sequelize.query(`ANALYZE TABLE \`${host.t.entries}\``);
      const setupMs = now() - s0;
      const waiting = await count(host, `SELECT COUNT(*) AS n FROM \`${host.t.entries}\` WHERE State = 'waiting'`);
      log(`inserted ${fmtInt(waiting)} waiting entries in ${fmtMs(setupMs)}`);

      const before = await redisFootprint(redis, host.config.QUEUE_PREFIX);
      const usedBefore = await usedMemory(redis);
      log('sweeping once');
      const sweep = await sweepCapturing(host);
      const usedAfter = await usedMemory(redis);
      const after = await redisFootprint(redis, host.config.QUEUE_PREFIX);
      const counts = await host.app.get(EntryQueue).queue.getJobCounts();
      log(`sweep: ${JSON.stringify(sweep.report)} in ${fmtMs(sweep.ms)}; queue ${JSON.stringify(counts)}`);

      // The sweeper's SELECTs on the entries table: time each alone (median of 5) and EXPLAIN it.
      const selects = sweep.statements.filter((s) => /^\s*SELECT/i.test(s.sql) && s.sql.includes(host.t.entries));
      const analysed: { statement: Captured; median: number; plan: ExplainRow[] }[] = [];
      for (const statement of selects) analysed.push({ statement, median: await timeMedian(host, statement), plan: await explain(host, statement) });
      const waitQuery = analysed.find((a) => /State = 'waiting'/.test(a.statement.sql));
      // The same wait query on the day the million come due (horizon past every WakeAt): still a range on idx_wake, read in index order, LIMIT-bound.
      if (waitQuery) {
        const dueDay = new Date(start.getTime() + 32 * DAY_MS).toISOString().slice(0, 23).replace('T', ' ');
        const statement: Captured = { sql: waitQuery.statement.sql, replacements: [dueDay, ...waitQuery.statement.replacements.slice(1)], ms: NaN };
        analysed.push({ statement, median: await timeMedian(host, statement), plan: await explain(host, statement) });
      }
      const waitUsesIdx = !!waitQuery?.plan.some((p) => p.table === 'e' && p.key === 'idx_wake');

      const resources = await monitor.snapshot(); // before the naive jobs are added from this process
      log(`baseline: ${fmtInt(opts.naiveJobs)} naive Bull delayed jobs`);
      const naive = await naiveDelayedJobs(host, redis, opts.naiveJobs);
      const scale = opts.waitingCount / opts.naiveJobs;

      const keysAdded = after.keys - before.keys;
      const bytesAdded = after.bytes - before.bytes;
      const usedDelta = usedAfter - usedBefore;
      const perM = (n: number) => (n * 1_000_000) / opts.waitingCount;
      const ratio = (ours: number, theirs: number) => (ours <= 0 ? `baseline costs ${fmtBytes(theirs)} more` : `${(theirs / ours).toFixed(0)}× less`);
      const dueQuery = analysed.find((a) => Number.isNaN(a.statement.ms));
      const rows: TableRow[] = [
        {
          metric: `Redis keys added by ${fmtInt(opts.waitingCount)} waits (+${fmtInt(opts.nearDue)} near-due control)`,
          journeys: `+${fmtInt(keysAdded)}`,
          baseline: `+${fmtInt(naive.keys * scale)}`,
          verdict: `baseline measured +${fmtInt(naive.keys)} for ${fmtInt(opts.naiveJobs)} jobs, ×${scale.toFixed(0)}`,
        },
        {
          metric: "Redis bytes added (MEMORY USAGE of this prefix's keys)",
          journeys: fmtBytes(bytesAdded),
          baseline: fmtBytes(naive.bytes * scale),
          verdict: `${ratio(bytesAdded, naive.bytes * scale)}${opts.nearDue > 0 ? ` (ours incl. the ${fmtInt(opts.nearDue)} near-due control's jobs)` : ''}`,
        },
        {
          metric: 'Redis INFO used_memory delta (whole server, noisy)',
          journeys: fmtBytes(usedDelta),
          baseline: fmtBytes(naive.usedDelta * scale),
          verdict: `per 1M waits: ${fmtBytes(perM(Math.max(0, usedDelta)))} vs ${fmtBytes((naive.usedDelta * 1_000_000) / opts.naiveJobs)}`,
        },
        {
          metric: 'time to park the waits in Redis',
          journeys: '0 (MySQL only)',
          baseline: fmtMs(naive.addMs * scale),
          verdict: `baseline ${fmtInt((opts.naiveJobs * 1000) / naive.addMs)} jobs/s`,
        },
        {
          metric: `sweeper pass (sweep(), ${fmtInt(waiting)}-row entries table)`,
          journeys: fmtMs(sweep.ms),
          baseline: '-',
          verdict: `queued ${fmtInt(sweep.report.waits)} near waits, ${fmtInt(sweep.report.stale)} stale; jobs now ${counts.delayed} delayed, ${counts.waiting} waiting`,
        },
        {
          metric: 'sweeper wait query alone (median of 5)',
          journeys: waitQuery ? fmtMs(waitQuery.median) : 'not seen',
          baseline: '-',
          verdict: waitUsesIdx ? 'uses idx_wake: YES' : 'uses idx_wake: NO',
        },
        {
          metric: `same query once all ${fmtInt(opts.waitingCount)} are due (first page of 5,000)`,
          journeys: dueQuery ? fmtMs(dueQuery.median) : '-',
          baseline: '-',
          verdict: dueQuery?.plan.some((p) => p.table === 'e' && p.key === 'idx_wake')
            ? `uses idx_wake: YES${dueQuery.plan.some((p) => /filesort/i.test(p.Extra ?? '')) ? ' (with filesort)' : ', no filesort'}`
            : 'uses idx_wake: NO',
        },
      ];
      rows.push(...resourceRows(resources));
      printTable(`Long waits: ${fmtInt(opts.waitingCount)} entries on a 30-day Wait, one sweeper pass`, rows, [
        `before sweep: ${fmtInt(before.keys)} keys / ${fmtBytes(before.bytes)} under ${host.config.QUEUE_PREFIX}:*; after: ${fmtInt(after.keys)} keys / ${fmtBytes(after.bytes)}; used_memory ${fmtBytes(usedBefore)} → ${fmtBytes(usedAfter)}`,
        `setup (bulk INSERT … SELECT, not the engine): ${fmtInt(waiting)} waiting rows in ${fmtMs(setupMs)}`,
        `baseline: ${fmtInt(opts.naiveJobs)} Bull jobs, delay 30 days, payload {entryIds:[id]}, the runtime's job options; extrapolated ×${scale.toFixed(0)}`,
        `used_memory is the whole Redis server (other processes share it); the MEMORY USAGE row counts this run's keys only`,
        `every process ≤ 300 MB RSS: ${met(rssTargetMet(resources))} (memory figures: setup and the sweep, before the naive jobs)`,
        machineNote(),
      ]);

      process.stdout.write('Sweeper statements on the entries table (captured from sweep(), re-run alone for time, then EXPLAIN):\n');
      for (const { statement, median, plan } of analysed) {
        const when = Number.isNaN(statement.ms) ? 'not in this sweep: the wait query as it runs once every wait is due' : `in sweep: ${fmtMs(statement.ms)}`;
        process.stdout.write(
          `\n  ${oneLine(statement.sql)}\n  replacements: ${JSON.stringify(statement.replacements)}\n  ${when}; alone (median of 5): ${fmtMs(median)}\n`,
        );
        process.stdout.write('  id | select_type | table | type  | key          | key_len | ref | rows    | Extra\n');
        for (const p of plan) {
          process.stdout.write(
            `  ${p.id} | ${p.select_type} | ${p.table} | ${p.type} | ${p.key ?? 'NULL'} | ${p.key_len ?? 'NULL'} | ${p.ref ?? 'NULL'} | ${p.rows} | ${p.Extra ?? ''}\n`,
          );
        }
      }
      process.stdout.write('\n');
      if (!waitUsesIdx) process.exitCode = 2;
      return { rows };
    } finally {
      await monitor.stop();
      redis.disconnect();
    }
  });
}

if (require.main === module) {
  runLongWaitsBench(longWaitsOptionsFromEnv()).then(
    () => process.exit(process.exitCode ?? 0),
    (error: Error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
