/**
 * Enrolment throughput: a list import of ENROL_COUNT subscribers (default
 * 100,000 `Subscriber.Subscribed` events for one list) enrolled into an enabled
 * journey and carried through its instant actions (Update Custom Field → Yes/No
 * → a 30-day Wait), timed from the first event handed in until a count query
 * sees every entry at the Wait. Targets: ≥ 20,000 entries/s, and ≥ 2× the raw
 * Bull ceiling.
 *
 * Baselines, same run: BASELINE_COUNT events (default 2,000) handed in one at a
 * time into the same engine and journey (`intake.accept(event)` awaited
 * sequentially: a batch of one, one job per entry, run by the Bull worker); and
 * the raw Bull ceiling: RAW_BULL_JOBS no-op jobs (default 20,000) added with
 * addBulk in chunks of 1,000 and consumed with concurrency 50, on a queue with
 * its own prefix in the same Redis; and the SQL floor (bench/sql-floor.ts): the
 * rows the import leaves per entry written by bare multi-row statements, what
 * MariaDB alone does for them here.
 *
 *   npm run build && node dist/bench/enrolment.bench.js
 *   node -r @swc-node/register bench/enrolment.bench.ts
 *
 * Environment:
 *   ENROL_COUNT=100000  BASELINE_COUNT=2000  RAW_BULL_JOBS=20000
 *   FEED=hooks|acceptMany   hooks: every event fired through the host's hook bus into hooks/subscriber-subscribed
 *                           (the intake coalesces concurrent events); acceptMany: the bulk intake API in chunks
 *   HOOK_WINDOW=5000     hooks in flight at once, as a host importing a chunk at a time fires them (0 = all
 *                        100,000 at once: the caller then holds every payload and promise, ~1.2 GiB here)
 *   IMPORT_CHUNK=5000 IMPORT_PARALLEL=1   acceptMany chunk size and concurrent callers
 *   WORKERS=0            0: one process (ROLE=all, the worker in-process); N: the intake in a ROLE=web
 *                        process and N separate worker processes (worker.main)
 *   WORKER_CONCURRENCY=4  BENCH_BATCH_FIELDS=1 (0: hide the host port's setCustomFields, so the runtime
 *                        writes one value per call)
 */
import type { TriggerEvent } from '../src/engine/trigger-event';
import type { SubscribedHookPayload } from '../src/host/hook-payloads';
import { TriggerIntakeService } from '../src/runtime/intake/trigger-intake.service';
import { chunk } from '../src/runtime/queues';
import { customFieldColumn } from '../src/host/mysql/host-tables';
import {
  count,
  createEnabledJourney,
  createFilledList,
  envInt,
  fmtInt,
  fmtMs,
  importJourneyActions,
  load1,
  WAIT_ACTIONS,
  log,
  machineNote,
  now,
  printTable,
  met,
  waitForCount,
  withHost,
  type BenchHost,
  type TableRow,
} from './bench-support';
import { rawBullCeiling, RAW_BULL_CONCURRENCY } from './bench-baselines';
import { cpuShares, ResourceMonitor, resourceRows, rssTargetMet } from './bench-resources';
import { startWorkers, stopChildren } from './bench-workers';
import { sqlFloor } from './sql-floor';

export interface EnrolmentBenchOptions {
  enrolCount: number;
  baselineCount: number;
  feed: 'hooks' | 'acceptMany';
  hookWindow: number;
  importChunk: number;
  importParallel: number;
  workers: number;
  workerConcurrency: number;
  batchFieldWrites: boolean;
  rawBullJobs: number;
}

export interface EnrolmentBenchResult {
  rows: TableRow[];
  journeysRate: number;
  baselineRate: number;
}

export function enrolmentOptionsFromEnv(): EnrolmentBenchOptions {
  const feed = process.env.FEED ?? 'hooks';
  if (feed !== 'hooks' && feed !== 'acceptMany') throw new Error(`FEED must be hooks or acceptMany, got ${feed}`);
  return {
    enrolCount: envInt('ENROL_COUNT', 100_000),
    baselineCount: envInt('BASELINE_COUNT', 2_000),
    feed,
    hookWindow: process.env.HOOK_WINDOW === '0' ? 0 : envInt('HOOK_WINDOW', 5_000),
    importChunk: envInt('IMPORT_CHUNK', 5_000),
    importParallel: envInt('IMPORT_PARALLEL', 1),
    workers: process.env.WORKERS === '0' || !process.env.WORKERS ? 0 : envInt('WORKERS', 0),
    workerConcurrency: envInt('WORKER_CONCURRENCY', 4),
    batchFieldWrites: process.env.BENCH_BATCH_FIELDS !== '0',
    rawBullJobs: envInt('RAW_BULL_JOBS', 20_000),
  };
}

const IMPORT_LIST = 101;
const BASELINE_LIST = 102;
const WARMUP_LIST = 103;
const WARMUP_COUNT = 1_200;

function payloadsFor(host: BenchHost, listId: number, subscriberIds: number[], tag: string): SubscribedHookPayload[] {
  const occurredAt = new Date().toISOString();
  return subscriberIds.map((subscriberId) => ({
    EventID: `bench-${tag}-${listId}-${subscriberId}`,
    UserID: host.demo.userA.userId,
    ListID: listId,
    SubscriberID: subscriberId,
    EmailAddress: `import${subscriberId}@example.com`,
    OccurredAt: occurredAt,
  }));
}

function eventsFor(host: BenchHost, listId: number, subscriberIds: number[], tag: string): TriggerEvent[] {
  const occurredAt = new Date();
  return subscriberIds.map((subscriberId) => ({
    eventId: `bench-${tag}-${listId}-${subscriberId}`,
    type: 'subscription',
    userId: host.demo.userA.userId,
    listId,
    subscriberId,
    occurredAt,
  }));
}

const atWaitSql = (host: BenchHost) =>
  `SELECT COUNT(*) AS n FROM \`${host.t.entries}\` WHERE ListID = ? AND State = 'waiting' AND CurrentActionID IN (${WAIT_ACTIONS.map((a) => `'${a}'`).join(', ')})`;

/** The naive path: one event at a time, each awaited; the entry runs in its own job. */
async function feedOneByOne(host: BenchHost, events: TriggerEvent[]): Promise<void> {
  for (const event of events) await host.plugin.intake.accept(event);
}

/** The import: every event fired through the host's hook bus (the plug-in's Subscriber.Subscribed handler). */
async function feedHooks(host: BenchHost, payloads: SubscribedHookPayload[], window: number): Promise<void> {
  const fire = (p: SubscribedHookPayload) => host.hooks.fire('Subscriber.Subscribed', p);
  if (window <= 0 || window >= payloads.length) {
    await Promise.all(payloads.map(fire));
    return;
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: window }, async () => {
      while (next < payloads.length) await fire(payloads[next++]);
    }),
  );
}

async function feedAcceptMany(host: BenchHost, events: TriggerEvent[], size: number, parallel: number): Promise<void> {
  const intake = host.app.get(TriggerIntakeService);
  const parts = chunk(events, size);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, parts.length) }, async () => {
      while (next < parts.length) await intake.acceptMany(parts[next++]);
    }),
  );
}

export async function runEnrolmentBench(opts: EnrolmentBenchOptions): Promise<EnrolmentBenchResult> {
  const env: Record<string, string> = {
    ROLE: opts.workers > 0 ? 'web' : 'all',
    WORKER_CONCURRENCY: String(opts.workerConcurrency),
    SWEEP_INTERVAL_SECONDS: '3600',
  };
  return withHost(
    env,
    async (host) => {
      log(
        `sandbox ${host.prefix} / ${host.config.QUEUE_PREFIX}; setting up lists of ${fmtInt(opts.enrolCount)} + ${fmtInt(opts.baselineCount)} + ${fmtInt(WARMUP_COUNT)} subscribers`,
      );
      const setupStart = now();
      const importIds = await createFilledList(host, IMPORT_LIST, 'Bench import', opts.enrolCount);
      const baselineIds = await createFilledList(host, BASELINE_LIST, 'Bench baseline', opts.baselineCount);
      const warmupIds = await createFilledList(host, WARMUP_LIST, 'Bench warm-up', WARMUP_COUNT);
      const journeyId = await createEnabledJourney(
        host,
        'Bench: import welcome',
        { type: 'subscription', listIds: [IMPORT_LIST, BASELINE_LIST, WARMUP_LIST] },
        importJourneyActions(host),
      );
      log(`setup ${fmtMs(now() - setupStart)}; journey ${journeyId}`);
      const monitor = await ResourceMonitor.start(host.config);
      const workers =
        opts.workers > 0
          ? await startWorkers(
              host,
              { count: opts.workers, concurrency: opts.workerConcurrency, ports: 'mysql', env: { BENCH_BATCH_FIELDS: opts.batchFieldWrites ? '1' : '0' } },
              monitor,
            )
          : [];
      try {
        const sql = atWaitSql(host);
        // Warm-up of both paths (JIT, connection pools, caches), not timed.
        await feedOneByOne(host, eventsFor(host, WARMUP_LIST, warmupIds.slice(0, 200), 'warm'));
        if (opts.feed === 'hooks') await feedHooks(host, payloadsFor(host, WARMUP_LIST, warmupIds.slice(200), 'warm'), opts.hookWindow);
        else await feedAcceptMany(host, eventsFor(host, WARMUP_LIST, warmupIds.slice(200), 'warm'), opts.importChunk, opts.importParallel);
        await waitForCount(host, sql, [WARMUP_LIST], WARMUP_COUNT, 120_000);

        // Baseline: one event at a time, one job per entry.
        log(`baseline: ${fmtInt(opts.baselineCount)} events, accept() awaited one by one`);
        const baselineEvents = eventsFor(host, BASELINE_LIST, baselineIds, 'one');
        const b0 = now();
        await feedOneByOne(host, baselineEvents);
        const bFed = now();
        const b1 = await waitForCount(host, sql, [BASELINE_LIST], opts.baselineCount, 600_000);
        const baselineMs = b1 - b0;
        const baselineRate = (opts.baselineCount * 1000) / baselineMs;
        log(`baseline: ${fmtInt(baselineRate)} entries/s (${fmtMs(baselineMs)}, fed in ${fmtMs(bFed - b0)})`);
        const baselineLoad = load1();

        // The import.
        log(`import: ${fmtInt(opts.enrolCount)} events via ${opts.feed}`);
        const payloads = opts.feed === 'hooks' ? payloadsFor(host, IMPORT_LIST, importIds, 'import') : [];
        const events = opts.feed === 'acceptMany' ? eventsFor(host, IMPORT_LIST, importIds, 'import') : [];
        const cpuFrom = monitor.cpuMark();
        const t0 = now();
        if (opts.feed === 'hooks') await feedHooks(host, payloads, opts.hookWindow);
        else await feedAcceptMany(host, events, opts.importChunk, opts.importParallel);
        const tFed = now();
        const t1 = await waitForCount(host, sql, [IMPORT_LIST], opts.enrolCount, 900_000);
        const cpu = cpuShares(cpuFrom, monitor.cpuMark());
        const importMs = t1 - t0;
        const journeysRate = (opts.enrolCount * 1000) / importMs;
        log(`import: ${fmtInt(journeysRate)} entries/s (${fmtMs(importMs)}, fed in ${fmtMs(tFed - t0)})`);
        const importLoad = load1();

        // Outcome checks: every entry at the Wait, the field written, the Yes branch taken by ages ≥ 40 only.
        const cityCol = customFieldColumn(host.demo.fields.city);
        const firstCol = customFieldColumn(host.demo.fields.firstName);
        const ageCol = customFieldColumn(host.demo.fields.age);
        const subs = host.tables.subscribers(IMPORT_LIST);
        const cityWritten = await count(host, `SELECT COUNT(*) AS n FROM \`${subs}\` WHERE \`${cityCol}\` = CONCAT('Imported ', EmailAddress)`);
        const seniors = await count(host, `SELECT COUNT(*) AS n FROM \`${subs}\` WHERE \`${firstCol}\` = 'Senior'`);
        const seniorsExpected = await count(host, `SELECT COUNT(*) AS n FROM \`${subs}\` WHERE CAST(\`${ageCol}\` AS UNSIGNED) >= 40`);
        const entries = await count(host, `SELECT COUNT(*) AS n FROM \`${host.t.entries}\` WHERE ListID = ?`, [IMPORT_LIST]);
        const logRows = await count(
          host,
          `SELECT COUNT(*) AS n FROM \`${host.t.log}\` l JOIN \`${host.t.entries}\` e ON e.EntryID = l.EntryID WHERE e.ListID = ?`,
          [IMPORT_LIST],
        );

        const config =
          opts.workers > 0
            ? `intake ROLE=web + ${opts.workers} worker process(es) × concurrency ${opts.workerConcurrency}`
            : `one process, ROLE=all, worker concurrency ${opts.workerConcurrency}`;
        const feed =
          opts.feed === 'hooks'
            ? `Subscriber.Subscribed fired through the host hook bus (${opts.hookWindow > 0 ? `${opts.hookWindow} in flight` : 'all at once'})`
            : `acceptMany, chunks of ${fmtInt(opts.importChunk)} × ${opts.importParallel} caller(s)`;
        await stopChildren(workers, monitor);
        const resources = await monitor.snapshot(); // before the raw Bull baseline runs in this process

        // The raw Bull ceiling: what the queue alone does on this machine, right after the import.
        log(`raw Bull ceiling: ${fmtInt(opts.rawBullJobs)} no-op jobs, concurrency ${RAW_BULL_CONCURRENCY}`);
        const bull = await rawBullCeiling(host, opts.rawBullJobs);
        const bullLoad = load1();
        log(`raw Bull ceiling: ${fmtInt(bull.perSecond)} jobs/s (${fmtMs(bull.ms)})`);

        // The SQL floor: the same rows by bare statements, no plug-in code.
        log(`SQL floor: the import's rows for ${fmtInt(opts.enrolCount)} entries by bare multi-row statements`);
        const floorCpuFrom = monitor.cpuMark();
        const floor = await sqlFloor(host, IMPORT_LIST, importIds);
        const floorCpu = cpuShares(floorCpuFrom, monitor.cpuMark());
        const floorLoad = load1();
        log(`SQL floor: ${fmtInt(floor.perSecond)} entries/s (${fmtMs(floor.ms)}, ${fmtInt(floor.logRows)} log rows)`);
        await monitor.stop();
        const ratio = journeysRate / baselineRate;
        const bullRatio = journeysRate / bull.perSecond;
        const rows: TableRow[] = [
          {
            metric: `entries/s, enrol → Wait (journeys: ${fmtInt(opts.enrolCount)}; baseline: ${fmtInt(opts.baselineCount)} one by one)`,
            journeys: fmtInt(journeysRate),
            baseline: fmtInt(baselineRate),
            verdict: `${ratio.toFixed(1)}× baseline; target ≥ 20,000/s ${met(journeysRate >= 20_000)} (${importLoad}; baseline ${baselineLoad})`,
          },
          {
            metric: `import vs raw Bull ceiling (${fmtInt(opts.rawBullJobs)} no-op jobs, addBulk ×1,000, concurrency ${RAW_BULL_CONCURRENCY}), per s`,
            journeys: fmtInt(journeysRate),
            baseline: fmtInt(bull.perSecond),
            verdict: `${bullRatio.toFixed(2)}× raw Bull; target ≥ 2× ${met(bullRatio >= 2)} (${bullLoad})`,
          },
          {
            metric: `import vs SQL floor (the same rows per entry by bare multi-row SQL, ${fmtInt(floor.entries)} entries), per s`,
            journeys: fmtInt(journeysRate),
            baseline: fmtInt(floor.perSecond),
            verdict: `${((100 * journeysRate) / floor.perSecond).toFixed(0)}% of the floor${floor.perSecond < 20_000 ? ': 20,000/s is above what MariaDB alone writes here' : ''} (${floorLoad})`,
          },
          {
            metric: 'wall time, first event → every entry at the Wait',
            journeys: fmtMs(importMs),
            baseline: fmtMs(baselineMs),
            verdict: `baseline per 100k: ${fmtMs((baselineMs / opts.baselineCount) * 100_000)}`,
          },
          {
            metric: 'of which handing the events in',
            journeys: fmtMs(tFed - t0),
            baseline: fmtMs(bFed - b0),
            verdict: '',
          },
          {
            metric: 'vs nearest open-source peer (~90 entries/s, quoted)',
            journeys: fmtInt(journeysRate),
            baseline: '90',
            verdict: `${(journeysRate / 90).toFixed(0)}×`,
          },
          ...resourceRows(resources),
        ];
        printTable('Enrolment throughput (list import → first instant actions → 30-day Wait)', rows, [
          `config: ${config}; feed: ${feed}; batch custom field writes: ${opts.batchFieldWrites ? 'yes (the host port offers setCustomFields)' : 'no (hidden: one setCustomField call per value)'}`,
          `journey: Update Custom Field (merge tag) → Yes/No on age ≥ 40 (Yes: Update Custom Field → Wait 30 days; No: Wait 30 days)`,
          `import ${cpu}`,
          `SQL floor ${floorCpu}`,
          `checks: ${fmtInt(entries)} entries; ${fmtInt(cityWritten)} City fields written; ${fmtInt(seniors)} Yes-branch writes (expected ${fmtInt(seniorsExpected)}); ${fmtInt(logRows)} log rows`,
          `every process ≤ 300 MB RSS: ${met(rssTargetMet(resources))}`,
          `${machineNote()}; every figure measured in this run: one-by-one baseline, the import, raw Bull, then the SQL floor (memory figures: before raw Bull)`,
        ]);
        if (entries !== opts.enrolCount || cityWritten !== opts.enrolCount || seniors !== seniorsExpected) {
          throw new Error('outcome check failed: see the checks line above');
        }
        return { rows, journeysRate, baselineRate };
      } finally {
        await stopChildren(workers, monitor);
      }
    },
    { batchFieldWrites: opts.batchFieldWrites },
  );
}

if (require.main === module) {
  runEnrolmentBench(enrolmentOptionsFromEnv()).then(
    () => process.exit(0),
    (error: Error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
