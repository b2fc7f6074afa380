/**
 * Wake storm: WAKE_COUNT entries (default 50,000) whose Wait ends at the same
 * instant T, a few seconds after setup, followed by an Update Custom Field.
 * Setup (not the engine): a pre-filled list, the entries bulk-inserted as
 * waiting at the journey's Wait with WakeAt = T, then one sweeper pass, which
 * hands the waits due within the wake horizon to Bull as delayed jobs (as it
 * does every SWEEP_INTERVAL_SECONDS in production).
 *
 * Lateness = the commit time of an entry's field write (recorded in the
 * transaction's afterCommit, as in the stream benchmark) − T: p50/p99/max, and
 * the drain rate (entries/s from T until the last commit). In-process
 * workers (ROLE=all). Checked row by row: every entry completed, every field
 * written. Targets: p99 lateness ≤ 2 s and ≥ 10,000 entries/s.
 *
 * Baseline, same run: the naive wake storm, one Bull delayed job per entry
 * (WAKE_BASELINE_JOBS, default the same count), all due at one instant,
 * consumed by a no-op processor with concurrency 50.
 *
 *   npm run build && npm run bench -- wake-storm
 *
 * Environment: WAKE_COUNT=50000  WAKE_LEAD_SECONDS=12 (T − the start of the setup)
 *   WAKE_BASELINE_JOBS=50000  WAKE_TIMEOUT=300 (seconds after T to wait for the last commit)  WORKER_CONCURRENCY=4
 */
import { customFieldColumn } from '../src/host/mysql/host-tables';
import { Sweeper } from '../src/runtime/sweeper.service';
import { rawBullDelayedStorm, RAW_BULL_CONCURRENCY } from './bench-baselines';
import { CommitRecorder, epochNow, percentiles, type Percentiles } from './bench-latency';
import { cpuShares, ResourceMonitor, resourceRows, rssTargetMet } from './bench-resources';
import {
  count,
  createEnabledJourney,
  createFilledList,
  envInt,
  fmtInt,
  fmtMs,
  insertWaiting,
  load1,
  log,
  machineNote,
  met,
  printTable,
  sleep,
  withHost,
  type TableRow,
} from './bench-support';

export interface WakeStormBenchOptions {
  count: number;
  leadSeconds: number;
  baselineJobs: number;
  timeoutSeconds: number;
  workerConcurrency: number;
}

export function wakeStormOptionsFromEnv(): WakeStormBenchOptions {
  const n = envInt('WAKE_COUNT', 50_000);
  return {
    count: n,
    leadSeconds: envInt('WAKE_LEAD_SECONDS', 12),
    baselineJobs: envInt('WAKE_BASELINE_JOBS', n),
    timeoutSeconds: envInt('WAKE_TIMEOUT', 300),
    workerConcurrency: envInt('WORKER_CONCURRENCY', 4),
  };
}

const STORM_LIST = 701;
const WAIT_ACTION = 'storm_wait';

const ms = (x: number) => (Number.isNaN(x) ? '-' : fmtMs(x));
const latenessCell = (p: Percentiles) => `${ms(p.p50)} / ${ms(p.p99)} / ${ms(p.max)}`;

export async function runWakeStormBench(opts: WakeStormBenchOptions): Promise<{ rows: TableRow[] }> {
  const env = { ROLE: 'all', WORKER_CONCURRENCY: String(opts.workerConcurrency), SWEEP_INTERVAL_SECONDS: '3600' };
  return withHost(env, async (host) => {
    const monitor = await ResourceMonitor.start(host.config);
    const recorder = new CommitRecorder(host.ports.subscriptions);
    const n = opts.count;
    log(`sandbox ${host.prefix} / ${host.config.QUEUE_PREFIX}; ${fmtInt(n)} subscribers`);
    await createFilledList(host, STORM_LIST, 'Wake storm', n);
    const city = host.demo.fields.city;
    const journeyId = await createEnabledJourney(host, 'Bench: wake storm', { type: 'subscription', listIds: [STORM_LIST] }, [
      { id: WAIT_ACTION, type: 'wait', settings: { amount: 1, unit: 'days' } },
      { id: 'after_wait', type: 'update_custom_field', settings: { fieldId: city, value: 'Woken %Subscriber:EmailAddress%' } },
    ]);

    // T: whole milliseconds, as WakeAt (DATETIME(3)) stores it.
    const setupStart = epochNow();
    const wakeAt = Math.round(setupStart + opts.leadSeconds * 1000);
    await insertWaiting(host, { journeyId, actionId: WAIT_ACTION, listId: STORM_LIST, firstSubscriber: 1, n, from: new Date(wakeAt), spreadSeconds: 1 });
    const sweep = await host.app.get(Sweeper).sweep();
    const setupMs = epochNow() - setupStart;
    log(`setup: ${fmtInt(n)} waiting entries inserted and swept (${JSON.stringify(sweep)}) in ${fmtMs(setupMs)}; T in ${fmtMs(wakeAt - epochNow())}`);
    if (epochNow() >= wakeAt) throw new Error(`setup took ${fmtMs(setupMs)}, past T: raise WAKE_LEAD_SECONDS`);

    await sleep(Math.max(0, wakeAt - epochNow()));
    const cpuFrom = monitor.cpuMark();
    const allCommitted = await recorder.waitFor(STORM_LIST, n, wakeAt + opts.timeoutSeconds * 1000);
    const cpu = cpuShares(cpuFrom, monitor.cpuMark());
    const commits = [...recorder.committed(STORM_LIST).values()];
    const lateness = percentiles(commits.map((t) => t - wakeAt));
    const lastCommit = commits.reduce((a, b) => Math.max(a, b), -Infinity);
    const drainRate = (commits.length * 1000) / Math.max(1, lastCommit - wakeAt);
    const stormLoad = load1();
    log(`storm: lateness p50 ${ms(lateness.p50)} p99 ${ms(lateness.p99)} max ${ms(lateness.max)}; ${fmtInt(drainRate)} entries/s`);

    const completed = await count(host, `SELECT COUNT(*) AS n FROM \`${host.t.entries}\` WHERE ListID = ? AND State = 'completed'`, [STORM_LIST]);
    const written = await count(
      host,
      `SELECT COUNT(*) AS n FROM \`${host.tables.subscribers(STORM_LIST)}\` WHERE \`${customFieldColumn(city)}\` = CONCAT('Woken ', EmailAddress)`,
    );
    const checksOk = allCommitted && completed === n && written === n && commits.length === n;
    const resources = await monitor.snapshot();

    log(`baseline: ${fmtInt(opts.baselineJobs)} Bull delayed jobs due at one instant, no-op, concurrency ${RAW_BULL_CONCURRENCY}`);
    const naive = await rawBullDelayedStorm(host, opts.baselineJobs, opts.leadSeconds * 1000);
    const naiveLateness = percentiles(naive.lateness);
    const naiveRate = (naive.lateness.length * 1000) / Math.max(1, naiveLateness.max);
    const baselineLoad = load1();
    await monitor.stop();

    const rows: TableRow[] = [
      {
        metric: `lateness p50 / p99 / max (field committed − T; baseline: job done − due)`,
        journeys: latenessCell(lateness),
        baseline: latenessCell(naiveLateness),
        verdict: `p99 target ≤ 2 s ${met(allCommitted && lateness.p99 <= 2000)} (${stormLoad}; baseline ${baselineLoad})`,
      },
      {
        metric: `drain rate, entries/s from T to the last commit (${fmtInt(n)} entries; baseline ${fmtInt(opts.baselineJobs)} jobs)`,
        journeys: fmtInt(drainRate),
        baseline: fmtInt(naiveRate),
        verdict: `target ≥ 10,000/s ${met(allCommitted && drainRate >= 10_000)}; ${(drainRate / naiveRate).toFixed(2)}× the naive jobs`,
      },
      {
        metric: 'setup: bulk insert + one sweeper pass (not the engine); baseline: addBulk',
        journeys: fmtMs(setupMs),
        baseline: fmtMs(naive.addMs),
        verdict: `sweeper queued ${fmtInt(sweep.waits)} waits`,
      },
      ...resourceRows(resources),
    ];
    printTable(`Wake storm: ${fmtInt(n)} Waits ending at the same instant → Update Custom Field`, rows, [
      `checks: ${checksOk ? 'OK' : 'FAILED'}: ${fmtInt(completed)}/${fmtInt(n)} completed, ${fmtInt(written)} fields written, ${fmtInt(commits.length)} commits recorded${allCommitted ? '' : ` (NOT all within ${opts.timeoutSeconds} s of T)`}`,
      `one process, ROLE=all, worker concurrency ${opts.workerConcurrency}; T = ${opts.leadSeconds} s after the setup started`,
      `from T to the last commit: ${cpu}`,
      `every process ≤ 300 MB RSS: ${met(rssTargetMet(resources))} (memory figures: setup and the storm, before the baseline ran in this process)`,
      machineNote(),
    ]);
    if (!checksOk) throw new Error('outcome check failed: see the checks line above');
    return { rows };
  });
}

if (require.main === module) {
  runWakeStormBench(wakeStormOptionsFromEnv()).then(
    () => process.exit(0),
    (error: Error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
