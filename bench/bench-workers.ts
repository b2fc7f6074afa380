/**
 * Separate worker processes (src/worker.main) for the benchmarks, against the
 * bench host's tables and queues: the same secrets and prefixes as the host,
 * production settings, no logging, the sweeper out of the way. Each is
 * followed by the resource monitor and read once more just before it stops.
 */
import { fork, type ChildProcess } from 'child_process';
import * as path from 'path';
import type { BenchHost } from './bench-support';
import type { ResourceMonitor } from './bench-resources';

export interface WorkerOptions {
  count: number;
  concurrency: number;
  /**
   * `mysql`: the benchmark's MySQL-only host ports (bench/worker-ports: reads and field
   * writes, no Subscribe); `http`: worker.main's default, the host's HTTP host API at
   * `host.baseUrl` for Subscribe and Unsubscribe (the host must listen).
   */
  ports: 'mysql' | 'http';
  /** More environment for every worker (e.g. WEBHOOK_ALLOW_PRIVATE). */
  env?: Record<string, string>;
}

/** Children still running: ended with this process however it ends (an exception, a closed stdout), so none is left behind. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Compiled (dist/) or from the sources with @swc-node/register, whichever this file is. */
export function entryPoint(relative: string): { file: string; execArgv: string[] } {
  const fromSource = __filename.endsWith('.ts');
  const root = path.resolve(__dirname, '..');
  return { file: path.join(root, fromSource ? `${relative}.ts` : `${relative}.js`), execArgv: fromSource ? ['-r', '@swc-node/register'] : [] };
}

/** Forks a benchmark helper script (bench/<name>) as a child with an IPC channel. */
export function forkBenchScript(name: string, env: Record<string, string> = {}): ChildProcess {
  const { file, execArgv } = entryPoint(`bench/${name}`);
  return track(fork(file, [], { execArgv, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
}

export async function startWorkers(host: BenchHost, opts: WorkerOptions, monitor?: ResourceMonitor): Promise<ChildProcess[]> {
  const main = entryPoint('src/worker.main');
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    SESSION_SECRET: host.config.SESSION_SECRET,
    HOOK_SECRET: host.config.HOOK_SECRET,
    HOST_API_SECRET: host.config.HOST_API_SECRET,
    ROLE: 'worker',
    LOG_LEVEL: 'silent',
    DB_TABLE_PREFIX: host.prefix,
    QUEUE_PREFIX: host.config.QUEUE_PREFIX,
    WORKER_CONCURRENCY: String(opts.concurrency),
    SWEEP_INTERVAL_SECONDS: '3600',
    ...opts.env,
  };
  if (opts.ports === 'mysql') env.JOURNEYS_HOST_PORTS = entryPoint('bench/worker-ports').file;
  else {
    if (!host.baseUrl) throw new Error('worker processes on the HTTP host API need a listening host (startBenchHost with listen: true)');
    env.HOST_API_URL = `${host.baseUrl}/host-api`;
  }
  const children: ChildProcess[] = [];
  for (let i = 0; i < opts.count; i++) {
    const inherited = { ...process.env };
    delete inherited.JOURNEYS_HOST_PORTS;
    const child = track(fork(main.file, [], { execArgv: main.execArgv, env: { ...inherited, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`worker process exited with ${code} before it was ready`)));
    });
    if (child.pid !== undefined) monitor?.watch(`worker process ${i + 1}`, child.pid);
  }
  return children;
}

/** Stops the processes (SIGTERM, then waits for their exit), reading their peak RSS first. */
export async function stopChildren(children: ChildProcess[], monitor?: ResourceMonitor): Promise<void> {
  monitor?.sample();
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
}
