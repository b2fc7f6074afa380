/**
 * The process refuses to start on bad configuration, naming the variable.
 */
import { spawn } from 'child_process';
import * as path from 'path';
import { DEV_HOOK_SECRET, DEV_SESSION_SECRET } from '../src/config/env';

const ROOT = path.resolve(__dirname, '..');

function runHost(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'reference-host/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...env, PORT: '0', SWC_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('configuration', () => {
  it('refuses to start with a bad DB_PORT, exiting 1 with a message naming it', async () => {
    const result = await runHost({ DB_PORT: 'not-a-port' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Invalid configuration');
    expect(result.stderr).toMatch(/DB_PORT="not-a-port": .*integer/);
    expect(result.stdout).not.toContain('is running');
  });

  it('names every bad variable at once', async () => {
    const result = await runHost({ DB_PORT: '70000', QUEUE_PREFIX: 'bad prefix!', SESSION_SECRET: 'short', ROLE: 'boss' });
    expect(result.code).toBe(1);
    for (const name of ['DB_PORT="70000"', 'QUEUE_PREFIX="bad prefix!"', 'SESSION_SECRET (5 characters, not shown)', 'ROLE="boss"'])
      expect(result.stderr).toContain(name);
    expect(result.stderr).not.toContain('short"');
  });

  it('refuses to start in production on the public development secrets, naming both', async () => {
    const result = await runHost({ NODE_ENV: 'production', SESSION_SECRET: DEV_SESSION_SECRET, HOOK_SECRET: DEV_HOOK_SECRET });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/SESSION_SECRET \(28 characters, not shown\): SESSION_SECRET is the built-in development value/);
    expect(result.stderr).toMatch(/HOOK_SECRET \(42 characters, not shown\): HOOK_SECRET is the built-in development value/);
    expect(result.stdout).not.toContain('is running');
  });

  it('says which database it cannot reach instead of a stack trace', async () => {
    const result = await runHost({ DB_PORT: '1', DB_TABLE_PREFIX: 'tunreachable_' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Cannot use MySQL\/MariaDB at DB_HOST=127\.0\.0\.1 DB_PORT=1/);
  });
});
