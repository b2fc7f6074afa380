/**
 * Streaming traffic: single events at a fixed open-loop rate (sent on
 * schedule, never waiting for the previous answer), each naming a real
 * subscriber of a pre-filled list with a unique EventID, into one of two
 * journey shapes (bench/stream-journeys.ts, STREAM_JOURNEY):
 * - `field`: `Subscriber.Subscribed` enrolling into "Update Custom Field
 *   (merge tag) → Wait 30 days";
 * - `wait_for_event`: `Email.Opened` of one email, each moving an entry that
 *   already waits at "Wait for event: opened" (all of the step's subscribers
 *   enrolled in bulk before it, untimed) down its Yes branch "Update Custom
 *   Field (merge tag) → Wait 30 days".
 *
 * Latency = event handed in → its field write committed (the host port's
 * field writers are wrapped; the commit time is taken in the transaction's
 * afterCommit). Per rate: p50/p95/p99/max, the achieved send rate, the
 * backlog (handed in − committed) when sending stops and its maximum, and
 * row-by-row checks (every entry at the final Wait, every field written).
 * Then a ramp finds the highest rate whose backlog stays bounded: at the end
 * of the sending window it is below one second's worth of events, and
 * everything is committed within STREAM_SETTLE_SECONDS after sending stops.
 *
 * Baseline, same run, same host: the same rates of the same events into
 * lists whose subscribers are in no journey (latency = handed in → the
 * intake's answer).
 *
 * Feeds: `hooks`, the host's in-process hook bus (host.hooks.fire); `http`, the
 * signed ingest (POST /journeys/hooks/<hook>, Standard Webhooks signature,
 * keep-alive agent) from a separate feeder process (bench/stream-feeder.ts).
 *
 *   npm run build && npm run bench -- stream
 *   STREAM_FEED=http STREAM_JOURNEY=wait_for_event node dist/bench/stream.bench.js
 *
 * Environment: STREAM_FEED=hooks|http (run.ts: STREAM_FEEDS=hooks,http)
 *   STREAM_JOURNEY=field|wait_for_event (run.ts: STREAM_JOURNEYS=field,wait_for_event)
 *   STREAM_ENROL=intake|manual (wait_for_event: how each step's subscribers are enrolled before it)
 *   STREAM_RATES=200,1000,2000
 *   STREAM_RAMP=3000,4000,6000 (tried in turn while bounded)  STREAM_SECONDS=10 (per rate)
 *   STREAM_SETTLE_SECONDS=3 (bounded: all done this soon after sending stops)
 *   STREAM_DRAIN_TIMEOUT=120 (seconds after sending stops to wait for every commit; past it the step fails its checks)
 *   STREAM_HTTP_SOCKETS=256 (the feeder's keep-alive sockets)  WORKER_CONCURRENCY=4
 */
import * as os from 'os';
import type { Job } from 'bull';
import { customFieldColumn } from '../src/host/mysql/host-tables';
import { EntryQueue } from '../src/runtime/entry-queue.service';
import type { RunEntriesJobData } from '../src/runtime/queues';
import { cpuShares, ResourceMonitor, resourceRows, rssTargetMet } from './bench-resources';
import {
  count,
  createEnabledJourney,
  createList,
  envInt,
  fillList,
  fmtInt,
  log,
  machineNote,
  met,
  printGrid,
  printTable,
  sleep,
  withHost,
  type TableRow,
} from './bench-support';
import { backlog, CommitRecorder, epochNow, percentiles, type Percentiles } from './bench-latency';
import { hookBusFeed, httpFeed } from './stream-feeds';
import {
  END_ACTION,
  isStreamEnrolment,
  isStreamJourney,
  streamShape,
  STREAM_ENROLMENTS,
  STREAM_JOURNEYS,
  type StreamEnrolment,
  type StreamJourney,
  type StreamShape,
} from './stream-journeys';

export interface StreamBenchOptions {
  feed: 'hooks' | 'http';
  journey: StreamJourney;
  /** How the wait_for_event shape enrols each step's subscribers before it (bench/stream-journeys.ts). */
  enrol: StreamEnrolment;
  rates: number[];
  ramp: number[];
  seconds: number;
  settleSeconds: number;
  drainTimeoutSeconds: number;
  httpSockets: number;
  workerConcurrency: number;
}

function envRates(name: string, fallback: string): number[] {
  const rates = (process.env[name] || fallback).split(',').map((r) => Number(r.trim().replace(/_/g, '')));
  if (rates.some((r) => !Number.isFinite(r) || r <= 0)) throw new Error(`${name} must be a comma-separated list of positive rates, got ${process.env[name]}`);
  return rates;
}

export function streamOptionsFromEnv(feed = process.env.STREAM_FEED ?? 'hooks', journey = process.env.STREAM_JOURNEY ?? 'field'): StreamBenchOptions {
  if (feed !== 'hooks' && feed !== 'http') throw new Error(`STREAM_FEED must be hooks or http, got ${feed}`);
  if (!isStreamJourney(journey)) throw new Error(`STREAM_JOURNEY must be one of ${STREAM_JOURNEYS.join(', ')}, got ${journey}`);
  const enrol = process.env.STREAM_ENROL ?? 'intake';
  if (!isStreamEnrolment(enrol)) throw new Error(`STREAM_ENROL must be one of ${STREAM_ENROLMENTS.join(', ')}, got ${enrol}`);
  return {
    feed,
    journey,
    enrol,
    rates: envRates('STREAM_RATES', '200,1000,2000'),
    ramp: envRates('STREAM_RAMP', '3000,4000,6000'),
    seconds: envInt('STREAM_SECONDS', 10),
    settleSeconds: envInt('STREAM_SETTLE_SECONDS', 3),
    drainTimeoutSeconds: envInt('STREAM_DRAIN_TIMEOUT', 120),
    httpSockets: envInt('STREAM_HTTP_SOCKETS', 256),
    workerConcurrency: envInt('WORKER_CONCURRENCY', 4),
  };
}

type Side = 'journey' | 'baseline';

interface StepResult {
  side: Side;
  rate: number;
  n: number;
  sentPerSecond: number;
  latency: Percentiles;
  maxLagMs: number;
  backlogEnd: number;
  backlogMax: number;
  /** Last event done − sending stopped; NaN when not everything was done within the drain timeout. */
  drainMs: number;
  bounded: boolean;
  checks: string;
  checksOk: boolean;
  load: number;
  cpu: string;
  /** Worker jobs completed during the step and the entries they carried. */
  jobs: { count: number; entries: number };
}

const JOURNEY_LISTS = 300;
const BASELINE_LISTS = 500;
const WARMUP_SECONDS = 2;

export async function runStreamBench(opts: StreamBenchOptions): Promise<{ rows: TableRow[] }> {
  const env = { ROLE: 'all', WORKER_CONCURRENCY: String(opts.workerConcurrency), SWEEP_INTERVAL_SECONDS: '3600' };
  return withHost(
    env,
    async (host) => {
      const monitor = await ResourceMonitor.start(host.config);
      const recorder = new CommitRecorder(host.ports.subscriptions);
      // Lists: one per step (warm-up first), so each step's events name subscribers no earlier step enrolled.
      const stepRates = [opts.rates[0], ...opts.rates, ...opts.ramp];
      const journeyLists = stepRates.map((_, i) => JOURNEY_LISTS + i);
      const baselineLists = stepRates.map((_, i) => BASELINE_LISTS + i);
      for (const id of journeyLists) await createList(host, id, `Stream journey ${id}`);
      for (const id of baselineLists) await createList(host, id, `Stream baseline ${id}`);
      const city = host.demo.fields.city;
      const shape = streamShape(host, opts.journey, opts.enrol);
      const journeyId = await createEnabledJourney(host, `Bench: stream ${shape.journey}`, { type: 'subscription', listIds: journeyLists }, shape.actions);
      log(`sandbox ${host.prefix} / ${host.config.QUEUE_PREFIX}; journey ${journeyId} (${shape.journey}); feed ${opts.feed}`);
      const feed = opts.feed === 'hooks' ? hookBusFeed(host, shape.events) : await httpFeed(host, shape.events, opts.httpSockets, monitor);
      const listOf = { journey: 0, baseline: 0 };
      // Worker jobs run per step, and the entries they carried: how the stream was cut into work.
      const jobs = { count: 0, entries: 0 };
      host.app.get(EntryQueue).queue.on('completed', (job: Job<RunEntriesJobData>) => {
        jobs.count++;
        jobs.entries += job.data.entryIds.length;
      });

      const runStep = async (side: Side, rate: number, seconds = opts.seconds): Promise<StepResult> => {
        const listId = side === 'journey' ? journeyLists[listOf.journey++] : baselineLists[listOf.baseline++];
        const n = Math.max(1, Math.round(rate * seconds));
        await fillList(host, listId, n);
        if (side === 'journey') await shape.prepare(journeyId, listId, n);
        await sleep(500);
        const cpuFrom = monitor.cpuMark();
        jobs.count = jobs.entries = 0;
        const { sendEnd, finished } = await feed.send(rate, listId, n, side);
        const deadline = sendEnd + opts.drainTimeoutSeconds * 1000;
        if (side === 'journey') await recorder.waitFor(listId, n, deadline);
        const answers = await Promise.race([finished, sleep(Math.max(0, deadline - epochNow())).then(() => null)]);
        if (!answers) throw new Error(`${side} ${rate}/s: answers still missing ${opts.drainTimeoutSeconds} s after sending stopped`);
        const cpu = cpuShares(cpuFrom, monitor.cpuMark());
        const workerJobs = { ...jobs };
        const commits = recorder.committed(listId);
        const done = side === 'journey' ? Float64Array.from({ length: n }, (_, i) => commits.get(i + 1) ?? NaN) : Float64Array.from(answers.answered);
        const latencies: number[] = [];
        let lastDone = -Infinity;
        let missing = 0;
        for (let i = 0; i < n; i++) {
          if (Number.isNaN(done[i])) missing++;
          else {
            latencies.push(done[i] - answers.handIn[i]);
            lastDone = Math.max(lastDone, done[i]);
          }
        }
        const firstIn = answers.handIn[0];
        const queue = backlog(answers.handIn, done, sendEnd);
        const drainMs = missing === 0 ? Math.max(0, lastDone - sendEnd) : NaN;
        let checks: string;
        let checksOk: boolean;
        const errors = answers.errors > 0 ? `; ${answers.errors} failed (${answers.firstError})` : '';
        const entries = await count(host, `SELECT COUNT(*) AS n FROM \`${host.t.entries}\` WHERE ListID = ?`, [listId]);
        if (side === 'journey') {
          const atWait = await count(host, `SELECT COUNT(*) AS n FROM \`${host.t.entries}\` WHERE ListID = ? AND State = 'waiting' AND CurrentActionID = ?`, [
            listId,
            END_ACTION,
          ]);
          const written = await count(
            host,
            `SELECT COUNT(*) AS n FROM \`${host.tables.subscribers(listId)}\` WHERE \`${customFieldColumn(city)}\` = CONCAT('Streamed ', EmailAddress)`,
          );
          checksOk = atWait === n && written === n && commits.size === n && answers.errors === 0;
          checks = `${fmtInt(atWait)}/${fmtInt(n)} ${shape.endLabel}, ${fmtInt(written)} fields, ${fmtInt(commits.size)} commits${errors}`;
        } else {
          const answered = n - missing;
          checksOk = answered === n && entries === 0 && answers.errors === 0;
          checks = `${fmtInt(answered)}/${fmtInt(n)} answered, ${fmtInt(entries)} entries${errors}`;
        }
        const bounded = missing === 0 && queue.at < rate && drainMs <= opts.settleSeconds * 1000 && answers.errors === 0;
        const result: StepResult = {
          side,
          rate,
          n,
          sentPerSecond: n > 1 ? ((n - 1) * 1000) / (sendEnd - firstIn) : n,
          latency: percentiles(latencies),
          maxLagMs: answers.maxLagMs,
          backlogEnd: queue.at,
          backlogMax: queue.max,
          drainMs,
          bounded,
          checks,
          checksOk,
          load: os.loadavg()[0],
          cpu,
          jobs: workerJobs,
        };
        log(
          `${side} ${fmtInt(rate)}/s: p50 ${result.latency.p50.toFixed(1)} p99 ${result.latency.p99.toFixed(1)} max ${result.latency.max.toFixed(1)} ms; backlog ${queue.at}/${queue.max}; ${bounded ? 'bounded' : 'NOT bounded'}; ${checks}`,
        );
        return result;
      };

      const results: StepResult[] = [];
      try {
        // Warm-up (JIT, pools, caches), not reported.
        await runStep('baseline', Math.min(200, opts.rates[0]), WARMUP_SECONDS);
        await runStep('journey', Math.min(200, opts.rates[0]), WARMUP_SECONDS);
        for (const rate of opts.rates) {
          results.push(await runStep('baseline', rate));
          results.push(await runStep('journey', rate));
        }
        for (const side of ['journey', 'baseline'] as const) {
          if (!results.filter((r) => r.side === side).every((r) => r.bounded)) continue;
          for (const rate of opts.ramp) {
            const step = await runStep(side, rate);
            results.push(step);
            if (!step.bounded) break;
          }
        }
      } finally {
        await feed.close();
      }
      return report(opts, shape, results, await monitor.stop());
    },
    { listen: opts.feed === 'http' },
  );
}

const ms = (x: number) => (Number.isNaN(x) ? '-' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);

/** The highest rate of the ascending run of bounded steps of one side (0 when the first was not). */
function highestBounded(results: StepResult[], side: Side): number {
  let best = 0;
  for (const r of results.filter((s) => s.side === side).sort((a, b) => a.rate - b.rate)) {
    if (!r.bounded) break;
    best = r.rate;
  }
  return best;
}

function report(
  opts: StreamBenchOptions,
  shape: StreamShape,
  results: StepResult[],
  resources: Awaited<ReturnType<ResourceMonitor['stop']>>,
): { rows: TableRow[] } {
  const feedName =
    opts.feed === 'hooks' ? 'host hook bus (in-process host.hooks.fire)' : `signed HTTP ingest from a feeder process (keep-alive, ${opts.httpSockets} sockets)`;
  printGrid(
    `Stream, ${shape.journey} journey: ${shape.events.hook} at fixed open-loop rates via the ${feedName}`,
    [
      'side',
      'rate/s',
      'sent/s',
      'p50',
      'p95',
      'p99',
      'max',
      'backlog end / max',
      'drained after send',
      'bounded',
      'checks',
      'worker jobs (entries/job)',
      'sender lag max',
      'load 1 min',
    ],
    results.map((r) => [
      r.side === 'journey' ? 'journey → field committed' : 'baseline: no journey → answer',
      fmtInt(r.rate),
      fmtInt(r.sentPerSecond),
      ms(r.latency.p50),
      ms(r.latency.p95),
      ms(r.latency.p99),
      ms(r.latency.max),
      `${fmtInt(r.backlogEnd)} / ${fmtInt(r.backlogMax)}`,
      ms(r.drainMs),
      r.bounded ? 'yes' : 'NO',
      `${r.checksOk ? 'OK' : 'FAILED'}: ${r.checks}`,
      r.jobs.count > 0 ? `${fmtInt(r.jobs.count)} (${(r.jobs.entries / r.jobs.count).toFixed(1)})` : '0',
      ms(r.maxLagMs),
      r.load.toFixed(1),
    ]),
    [
      `${opts.seconds} s per rate; bounded = backlog when sending stops < one second of events, and all done within ${opts.settleSeconds} s after; ramp ${opts.ramp.join(', ')}/s while bounded`,
      `journey: ${shape.description}; one process, ROLE=all, worker concurrency ${opts.workerConcurrency}; latency from hand-in (sender lag = hand-in − schedule)`,
      ...results.map((r) => `${r.side} ${fmtInt(r.rate)}/s, first event → all done: ${r.cpu}`),
    ],
  );
  const at = (side: Side, rate: number) => results.find((r) => r.side === side && r.rate === rate);
  const p99Row = (rate: number, limit: number): TableRow => {
    const j = at('journey', rate);
    const b = at('baseline', rate);
    const ok = !!j && j.bounded && j.checksOk && j.latency.p99 <= limit;
    return {
      metric: `p99 latency at ${fmtInt(rate)}/s (journey: to field committed; baseline: to answer)`,
      journeys: j ? ms(j.latency.p99) : 'not run',
      baseline: b ? ms(b.latency.p99) : 'not run',
      verdict: `target ≤ ${limit} ms, bounded: ${met(ok)}`,
    };
  };
  const targetRate = opts.feed === 'hooks' ? 2000 : 1000;
  const best = highestBounded(results, 'journey');
  const rows: TableRow[] = [
    p99Row(200, 50),
    p99Row(targetRate, 250),
    {
      metric: 'highest rate with a bounded backlog, events/s',
      journeys: fmtInt(best),
      baseline: fmtInt(highestBounded(results, 'baseline')),
      verdict: `target ≥ ${fmtInt(targetRate)}/s ${met(best >= targetRate)} (of ${[...opts.rates, ...opts.ramp].join(', ')} tried)`,
    },
    ...resourceRows(resources),
  ];
  const allChecked = results.every((r) => r.checksOk);
  printTable(`Stream targets, ${shape.journey} journey (${opts.feed === 'hooks' ? 'hook bus' : 'signed HTTP ingest'})`, rows, [
    `checks: ${allChecked ? 'every step: every entry at the final Wait and every field written (journey), every event answered and none enrolled (baseline)' : 'FAILED, see the checks column'}`,
    `every process ≤ 300 MB RSS: ${met(rssTargetMet(resources))}`,
    machineNote(),
  ]);
  if (!allChecked) throw new Error('outcome check failed: see the checks column');
  return { rows };
}

if (require.main === module) {
  runStreamBench(streamOptionsFromEnv()).then(
    () => process.exit(0),
    (error: Error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
