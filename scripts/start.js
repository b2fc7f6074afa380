#!/usr/bin/env node
/**
 * npm start: the whole quick start on a fresh clone.
 * Installs dependencies when node_modules is missing, builds (tsc), then runs
 * the compiled reference host, which creates the host tables, enables the
 * plug-in (migrations), seeds the demo data idempotently and serves.
 * Once the host answers GET /journeys/health it runs scripts/demo-journey.js
 * (creates the demo journey "Welcome series" when the demo user has none;
 * DEMO_JOURNEY=0 skips it). The host stays in the foreground.
 */
'use strict';
const { spawnSync, spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function step(title, command, args) {
  process.stdout.write(`\n> ${title}\n`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`\n${title} failed (exit code ${result.status ?? result.signal}).\n`);
    process.exit(result.status || 1);
  }
  process.stdout.write(`  done in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
}

if (!fs.existsSync(path.join(root, 'node_modules', '.package-lock.json'))) {
  step('Installing dependencies (npm ci)', npm, ['ci', '--no-audit', '--no-fund']);
}
step('Building (tsc -p tsconfig.build.json)', process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);

process.stdout.write('\n> Starting the reference host (creates tables, migrates, seeds, serves)\n');
const host = spawn(process.execPath, [path.join(root, 'dist', 'reference-host', 'main.js')], { cwd: root, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => host.kill(signal));
host.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

const HEALTH_WAIT_MS = 30_000;
const baseUrl = `http://127.0.0.1:${process.env.PORT || 3000}`;

/** Polls GET /journeys/health until it answers 200; false after HEALTH_WAIT_MS. */
async function waitForHealth() {
  const deadline = Date.now() + HEALTH_WAIT_MS;
  while (Date.now() < deadline && host.exitCode === null) {
    try {
      const res = await fetch(`${baseUrl}/journeys/health`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return false;
}

/** The demo journey: never fails the start, whatever happens. */
async function demoJourney() {
  if (process.env.DEMO_JOURNEY === '0') {
    process.stdout.write('Demo journey skipped (DEMO_JOURNEY=0).\n');
    return;
  }
  if (!(await waitForHealth())) {
    if (host.exitCode === null)
      process.stderr.write(`Warning: the host did not answer ${baseUrl}/journeys/health within ${HEALTH_WAIT_MS / 1000} s; demo journey not created.\n`);
    return;
  }
  await new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'scripts', 'demo-journey.js')], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, DEMO_BASE_URL: baseUrl },
    });
    child.on('error', (error) => {
      process.stderr.write(`Warning: could not run scripts/demo-journey.js: ${error.message}\n`);
      resolve();
    });
    child.on('exit', resolve);
  });
}

demoJourney().catch((error) => process.stderr.write(`Warning: demo journey: ${error?.message ?? error}\n`));
