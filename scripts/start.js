#!/usr/bin/env node
/**
 * npm start: the whole quick start on a fresh clone.
 * Installs dependencies when node_modules is missing, builds (tsc), then runs
 * the compiled reference host, which creates the host tables, enables the
 * plug-in (migrations), seeds the demo data idempotently and serves.
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
