/**
 * `npm run bench`: every benchmark, one after the other (never two at once:
 * they would share the two cores), each in a process of its own (so each
 * one's memory figures are its own), each with its baselines measured in the
 * same run. `npm run bench -- <name>` runs one. Options come from the
 * environment (see each benchmark's file); with the defaults a full run takes
 * about 13 minutes on a 2-core machine (2026-11-30: the four stream runs
 * 460-472 s; the other benchmarks about 4-5 minutes in the README's latest run).
 *
 *   BENCH_FEEDS=hooks,acceptMany   the enrolment benchmark once per feed
 *   STREAM_FEEDS=hooks,http        the stream benchmark once per feed …
 *   STREAM_JOURNEYS=field,wait_for_event  … and journey shape (subscriptions into a field write;
 *                                  opens moving entries waiting at a Wait for event): 4 runs
 *   host-subscribe                 the reference host's own subscribe path (no journey): see host-subscribe.bench.ts
 *   BENCH_HEAP_MB=256              each benchmark process and its worker processes run with
 *                                  NODE_OPTIONS=--max-old-space-size=<this>, the heap limit the README
 *                                  recommends for the plug-in's processes (0: V8's default, which lets
 *                                  the heap grow to several times the live data before collecting)
 *
 *   npm run build && npm run bench
 */
import { spawn } from 'child_process';
import * as os from 'os';
import { log } from './bench-support';
import { entryPoint } from './bench-workers';

interface Run {
  label: string;
  script: string;
  env: Record<string, string>;
}

/** The heap limit in MB given to every benchmark process (and inherited by its workers); 0 = V8's default. */
function heapOptions(): string {
  const raw = process.env.BENCH_HEAP_MB ?? '256';
  if (!/^\d+$/.test(raw)) throw new Error(`BENCH_HEAP_MB must be a whole number of MB (0 for V8's default), got ${raw}`);
  const inherited = (process.env.NODE_OPTIONS ?? '').replace(/--max-old-space-size=\d+/g, '').trim();
  return Number(raw) > 0 ? `${inherited} --max-old-space-size=${raw}`.trim() : inherited;
}

const feeds = (name: string, fallback: string) => (process.env[name] ?? fallback).split(',').map((f) => f.trim());

const BENCHMARKS: Record<string, () => Run[]> = {
  enrolment: () => feeds('BENCH_FEEDS', 'hooks,acceptMany').map((feed) => ({ label: `enrolment (${feed})`, script: 'enrolment.bench', env: { FEED: feed } })),
  stream: () =>
    feeds('STREAM_JOURNEYS', 'field,wait_for_event').flatMap((journey) =>
      feeds('STREAM_FEEDS', 'hooks,http').map((feed) => ({
        label: `stream (${journey}, ${feed})`,
        script: 'stream.bench',
        env: { STREAM_JOURNEY: journey, STREAM_FEED: feed },
      })),
    ),
  external: () => [{ label: 'external', script: 'external.bench', env: {} }],
  'wake-storm': () => [{ label: 'wake storm', script: 'wake-storm.bench', env: {} }],
  'long-waits': () => [{ label: 'long waits', script: 'long-waits.bench', env: {} }],
  'host-subscribe': () => [{ label: 'host subscribe', script: 'host-subscribe.bench', env: {} }],
};

let stopping = false;

function runOne(run: Run): Promise<number> {
  const { file, execArgv } = entryPoint(`bench/${run.script}`);
  const child = spawn(process.execPath, [...execArgv, file], { env: { ...process.env, NODE_OPTIONS: heapOptions(), ...run.env }, stdio: 'inherit' });
  // Ctrl-C reaches the benchmark from the terminal (it drops its sandbox on SIGINT); a SIGTERM to this
  // process is passed on as SIGINT. Either way no further benchmark starts.
  const onInterrupt = () => (stopping = true);
  const onTerminate = () => {
    stopping = true;
    child.kill('SIGINT');
  };
  process.on('SIGINT', onInterrupt).on('SIGTERM', onTerminate);
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      process.off('SIGINT', onInterrupt).off('SIGTERM', onTerminate);
      resolve(code ?? (signal ? 128 : 1));
    }),
  );
}

async function main(): Promise<void> {
  const only = process.argv[2];
  if (only && !BENCHMARKS[only]) throw new Error(`unknown benchmark ${only}: ${Object.keys(BENCHMARKS).join(', ')}`);
  const runs = Object.entries(BENCHMARKS)
    .filter(([name]) => !only || name === only)
    .flatMap(([, plan]) => plan());
  const started = Date.now();
  log(
    `node ${process.version}, ${os.cpus().length} cores, NODE_OPTIONS="${heapOptions()}", started ${new Date(started).toISOString()}; ${runs.map((r) => r.label).join(', ')}`,
  );
  const outcomes: string[] = [];
  for (const run of runs) {
    if (stopping) break;
    const t0 = Date.now();
    log(`── ${run.label}`);
    const code = await runOne(run);
    outcomes.push(`${run.label}: ${code === 0 ? 'ok' : `FAILED (exit ${code})`} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    if (code !== 0) process.exitCode = 1;
  }
  log(
    `done in ${((Date.now() - started) / 1000).toFixed(0)} s, load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' / ')}`,
  );
  for (const line of outcomes) log(`  ${line}`);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
