/**
 * A worker-only process (src/worker.main.ts, from the sources) on a test
 * host's tables and queue, as an operator would start one next to the web
 * process; resolves once it says it is ready.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as path from 'path';
import type { RefHost } from './reference-host';

const ROOT = path.resolve(__dirname, '..', '..');

export function startWorkerProcess(host: RefHost, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/worker.main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DB_TABLE_PREFIX: host.config.DB_TABLE_PREFIX,
      QUEUE_PREFIX: host.config.QUEUE_PREFIX,
      ROLE: 'worker',
      LOG_LEVEL: 'warn',
      SWEEP_INTERVAL_SECONDS: '3600',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`worker process exited with ${code} before it was ready`)));
  });
}

/** Stops a worker process (SIGTERM: it finishes or returns its jobs) unless it is gone already. */
export function stopWorkerProcess(child: ChildProcess | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
