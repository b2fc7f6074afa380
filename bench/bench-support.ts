/**
 * Shared pieces of the benchmark scripts: a reference host in its own sandbox
 * (random table prefix and queue prefix, dropped at the end), bulk setup SQL,
 * polling by count query, Redis figures under one prefix, and the result table.
 *
 * Benchmarks are scripts, not timed tests: each prints its figures next to a
 * baseline measured in the same run.
 */
import { randomBytes } from 'crypto';
import * as os from 'os';
import * as v8 from 'v8';
import { performance } from 'perf_hooks';
import type { Redis as RedisClient } from 'ioredis';
import { QueryTypes } from 'sequelize';
import type { Action, Trigger } from '../src/engine/journey.types';
import { customFieldColumn } from '../src/host/mysql/host-tables';
import { MySqlCustomFieldWriter } from '../src/host/mysql/mysql-custom-field-writer';
import { pluginTables, type PluginTables } from '../src/database/tables';
import { JourneysService } from '../src/journeys/journeys.service';
import { createListTable } from '../reference-host/schema';
import { startSandboxHost, type SandboxHost } from '../reference-host/sandbox';

export const now = (): number => performance.now();

/** A random Standard Webhooks secret. */
export const whsec = (): string => `whsec_${randomBytes(32).toString('base64')}`;

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return Math.floor(n);
}

export interface BenchHost extends SandboxHost {
  t: PluginTables;
  journeys: JourneysService;
}

export interface BenchHostOptions {
  /**
   * The host's subscription port offers `setCustomFields` (MySqlCustomFieldWriter's, as
   * the reference host does), which the runtime uses for Update Custom Field; false hides
   * it, so the runtime falls back to one `setCustomField` call per value. Default true.
   */
  batchFieldWrites?: boolean;
  /** Listen on a random port of 127.0.0.1 (`host.baseUrl`): the signed ingest, the HTTP host API. Default false. */
  listen?: boolean;
}

/** The reference host with the plug-in, production settings (no logging), its own prefixes. */
export async function startBenchHost(env: Record<string, string>, opts: BenchHostOptions = {}): Promise<BenchHost> {
  // Production settings, so with secrets of its own (the built-in development ones are refused there).
  const secrets = { SESSION_SECRET: randomBytes(32).toString('base64'), HOOK_SECRET: whsec(), HOST_API_SECRET: whsec() };
  const host = await startSandboxHost({ env: { LOG_LEVEL: 'silent', NODE_ENV: 'production', ...secrets, ...env }, listen: opts.listen });
  const port = host.ports.subscriptions;
  if (opts.batchFieldWrites === false) Object.assign(port, { setCustomFields: undefined });
  else if (typeof port.setCustomFields !== 'function') {
    const writer = new MySqlCustomFieldWriter(host.sequelize, host.prefix);
    port.setCustomFields = (userId, listId, writes, transaction) => writer.setCustomFields(userId, listId, writes, transaction);
  }
  return Object.assign(host, { t: pluginTables(host.prefix), journeys: host.app.get(JourneysService) });
}

/** Closes the host and drops every table of its prefix and every Redis key of its queue prefix, even after a failure. */
export async function withHost<T>(env: Record<string, string>, fn: (host: BenchHost) => Promise<T>, opts: BenchHostOptions = {}): Promise<T> {
  const host = await startBenchHost(env, opts);
  const stop = () => {
    void host.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  try {
    return await fn(host);
  } finally {
    process.off('SIGINT', stop);
    await host.stop();
  }
}

/**
 * A list of the demo user A with `count` subscribers, inserted in bulk
 * (multi-row INSERT … SELECT from a numbers table, see numbers()). Age is 18–77 so a
 * condition on it routes both ways. Returns the subscriber ids.
 */
export async function createFilledList(host: BenchHost, listId: number, name: string, count: number): Promise<number[]> {
  await createList(host, listId, name);
  return fillList(host, listId, count);
}

/** An empty list of the demo user A (its row and its subscriber table), to fill later with fillList(). */
export async function createList(host: BenchHost, listId: number, name: string): Promise<void> {
  const owner = host.demo.userA.userId;
  await host.sequelize.query(`INSERT INTO \`${host.tables.lists}\` (ListID, RelOwnerUserID, Name, CreatedAt) VALUES (?, ?, ?, UTC_TIMESTAMP())`, {
    replacements: [listId, owner, name],
  });
  await createListTable(host.sequelize, host.prefix, owner, listId);
}

/** Subscribers 1…`count` of an empty list (`import<n>@example.com`). Returns their ids. */
export async function fillList(host: BenchHost, listId: number, count: number): Promise<number[]> {
  const table = host.tables.subscribers(listId);
  const age = customFieldColumn(host.demo.fields.age);
  const firstName = customFieldColumn(host.demo.fields.firstName);
  const step = 100_000;
  for (let from = 1; from <= count; from += step) {
    const to = Math.min(count, from + step - 1);
    await host.sequelize.query(
      `INSERT INTO \`${table}\` (SubscriberID, EmailAddress, SubscriptionStatus, SubscriptionDate, OptInDate, SubscriptionIP, \`${age}\`, \`${firstName}\`)
       SELECT seq, CONCAT('import', seq, '@example.com'), 'Subscribed', UTC_TIMESTAMP(), UTC_TIMESTAMP(), '203.0.113.7', 18 + (seq % 60), CONCAT('Name', seq)
         FROM ${numbers(from, to)}`,
    );
  }
  return Array.from({ length: count }, (_, i) => i + 1);
}

/**
 * A derived table of the integers `from`…`to` (column `seq`, at most 1,000,000
 * of them), for bulk INSERT … SELECT setup. Cross joins of a ten-row table, so
 * it runs on MySQL 8 as well as MariaDB (whose seq_1_to_N engine MySQL lacks).
 */
export function numbers(from: number, to: number): string {
  if (!Number.isInteger(from) || !Number.isInteger(to) || to < from || to - from >= 1_000_000)
    throw new Error(`numbers(${from}, ${to}): at most 1,000,000 integers`);
  const digits =
    '(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)';
  const places = Array.from({ length: String(to - from).length }, (_, i) => `d${i}`); // enough digits for to - from
  const n = places.map((p, i) => `${p}.d * ${10 ** i}`).join(' + ');
  const joins = places.map((p) => `${digits} ${p}`).join(' CROSS JOIN ');
  return `(SELECT ${from} + n AS seq FROM (SELECT ${n} AS n FROM ${joins}) nums WHERE n <= ${to - from}) seqs`;
}

/**
 * Bulk setup, not the engine: `n` entries of `journeyId` waiting at `actionId`
 * for subscribers `firstSubscriber`… of `listId`, WakeAt `from` + (subscriber
 * modulo `spreadSeconds`) seconds (1: all at `from`).
 */
export async function insertWaiting(
  host: BenchHost,
  w: { journeyId: number; actionId: string; listId: number; firstSubscriber: number; n: number; from: Date; spreadSeconds: number },
): Promise<void> {
  const base = w.from.toISOString().slice(0, 23).replace('T', ' ');
  const version = await count(host, `SELECT Version AS n FROM \`${host.t.journeys}\` WHERE JourneyID = ?`, [w.journeyId]);
  const step = 100_000;
  for (let start = 0; start < w.n; start += step) {
    const lo = w.firstSubscriber + start;
    const hi = w.firstSubscriber + Math.min(w.n, start + step) - 1;
    await host.sequelize.query(
      `INSERT INTO \`${host.t.entries}\`
         (JourneyID, RelOwnerUserID, ListID, SubscriberID, EntryNumber, State, CurrentActionID, WakeAt, StepSeq, JourneyVersion, ActiveLock, ChainID, ChainDepth, CreatedAt, UpdatedAt)
       SELECT ?, ?, ?, seq, 1, 'waiting', ?, TIMESTAMPADD(SECOND, seq % ?, ?), 1, ?, 1, CONCAT('bench-', seq), 0, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
         FROM ${numbers(lo, hi)}`,
      { replacements: [w.journeyId, host.demo.userA.userId, w.listId, w.actionId, Math.max(1, w.spreadSeconds), base, version] },
    );
  }
}

/** The Wait actions of importJourneyActions (a Yes/No ends its list, so each branch has its own). */
export const WAIT_ACTIONS = ['wait_yes', 'wait_no'];

/** Update Custom Field (with a merge tag) → Yes/No on age (Yes: another field write) → a 30-day Wait in each branch. */
export function importJourneyActions(host: BenchHost): Action[] {
  const { fields } = host.demo;
  const wait = (id: string): Action => ({ id, type: 'wait', settings: { amount: 30, unit: 'days' } });
  return [
    { id: 'set_city', type: 'update_custom_field', settings: { fieldId: fields.city, value: 'Imported %Subscriber:EmailAddress%' } },
    {
      id: 'is_40_plus',
      type: 'condition',
      settings: { match: 'all', rules: [{ attribute: `CustomField:${fields.age}`, operator: 'at_least', value: '40' }] },
      yes: [{ id: 'tag_senior', type: 'update_custom_field', settings: { fieldId: fields.firstName, value: 'Senior' } }, wait('wait_yes')],
      no: [wait('wait_no')],
    },
  ];
}

/** Creates, saves and enables a journey through the journeys service (validated like the planner does). */
export async function createEnabledJourney(host: BenchHost, name: string, trigger: Trigger, actions: Action[]): Promise<number> {
  const owner = host.demo.userA.userId;
  const { journeyId } = await host.journeys.create(owner, { name, trigger });
  await host.journeys.saveActions(owner, journeyId, actions);
  await host.journeys.enable(owner, journeyId);
  return journeyId;
}

export async function count(host: BenchHost, sql: string, replacements: unknown[] = []): Promise<number> {
  const [row] = await host.sequelize.query<{ n: number }>(sql, { type: QueryTypes.SELECT, replacements });
  return Number(row?.n ?? 0);
}

/** Polls `sql` (a COUNT … AS n) until it reaches `target`; returns the time it was first seen there. */
export async function waitForCount(host: BenchHost, sql: string, replacements: unknown[], target: number, timeoutMs: number, pollMs = 20): Promise<number> {
  const deadline = now() + timeoutMs;
  let last: number;
  let lastLog = now();
  for (;;) {
    last = await count(host, sql, replacements);
    if (last >= target) return now();
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${last} of ${target}`);
    if (now() - lastLog > 5000) {
      log(`  … ${last} / ${target}`);
      lastLog = now();
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * Counts what the host logs as an error (the reference host logs each failed
 * HTTP host API call with its stack) instead of printing it, so a storm of
 * transient failures shows up as a figure, not as pages of stacks.
 */
export function countHostErrors(host: BenchHost): { count(): number; first(): string | undefined } {
  let errors = 0;
  let first: string | undefined;
  const quiet = () => undefined;
  host.app.useLogger({
    log: quiet,
    warn: quiet,
    debug: quiet,
    verbose: quiet,
    error: (message: unknown, ...rest: unknown[]) => {
      errors++;
      const context = rest.filter((part) => typeof part === 'string').pop();
      first ??= `${context ? `${context}: ` : ''}${String(message).split('\n')[0]}`;
    },
  });
  return { count: () => errors, first: () => first };
}

/** The server's InnoDB deadlock counter (MariaDB's Innodb_deadlocks; MySQL 8's lock_deadlocks metric), NaN when neither is there. Server-wide. */
export async function innodbDeadlocks(host: BenchHost): Promise<number> {
  const [status] = await host.query<{ Value: string }>(`SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'`);
  if (status) return Number(status.Value);
  const [metric] = await host.query<{ n: number }>(`SELECT COUNT AS n FROM information_schema.INNODB_METRICS WHERE NAME = 'lock_deadlocks'`);
  return metric ? Number(metric.n) : NaN;
}

/** Every key under `prefix:` (SCAN), and the sum of MEMORY USAGE over them. */
export async function redisFootprint(redis: RedisClient, prefix: string): Promise<{ keys: number; bytes: number }> {
  let cursor = '0';
  let keys = 0;
  let bytes = 0;
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys += batch.length;
    if (batch.length > 0) {
      const pipeline = redis.pipeline();
      for (const key of batch) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
      for (const [error, value] of (await pipeline.exec()) ?? []) if (!error) bytes += Number(value ?? 0);
    }
  } while (cursor !== '0');
  return { keys, bytes };
}

export async function usedMemory(redis: RedisClient): Promise<number> {
  const info = await redis.info('memory');
  const match = /^used_memory:(\d+)/m.exec(info);
  return match ? Number(match[1]) : NaN;
}

export async function deleteKeys(redis: RedisClient, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/** Load average and CPU count, printed with every table: the box may be shared with other work. */
export function machineNote(): string {
  const heapMb = Math.round(v8.getHeapStatistics().heap_size_limit / 2 ** 20);
  return `machine: ${os.cpus().length} cores, load average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ')} (1/5/15 min) at the end of this benchmark; MariaDB and Redis local; V8 heap limit of this process ${fmtInt(heapMb)} MB`;
}

/** A target's verdict as printed in every table. */
export function met(ok: boolean): string {
  return ok ? 'MET' : 'NOT MET';
}

/** Load average over the last minute, to print beside a figure measured just now. */
export function load1(): string {
  return `load ${os.loadavg()[0].toFixed(1)}`;
}

/** Sleeps `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtBytes(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1024 * 1024 * 1024) return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
  if (abs >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  if (abs >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

export interface TableRow {
  metric: string;
  journeys: string;
  baseline: string;
  verdict: string;
}

/** metric | journeys | baseline | ratio / target met?, as an aligned text table on stdout. */
export function printTable(title: string, rows: TableRow[], notes: string[] = []): void {
  const header: TableRow = { metric: 'metric', journeys: 'journeys', baseline: 'baseline', verdict: 'ratio / target met?' };
  const all = [header, ...rows];
  const width = (k: keyof TableRow) => Math.max(...all.map((r) => r[k].length));
  const w = { metric: width('metric'), journeys: width('journeys'), baseline: width('baseline'), verdict: width('verdict') };
  const line = (r: TableRow) =>
    `| ${r.metric.padEnd(w.metric)} | ${r.journeys.padStart(w.journeys)} | ${r.baseline.padStart(w.baseline)} | ${r.verdict.padEnd(w.verdict)} |`;
  const rule = `|${'-'.repeat(w.metric + 2)}|${'-'.repeat(w.journeys + 2)}|${'-'.repeat(w.baseline + 2)}|${'-'.repeat(w.verdict + 2)}|`;
  const out = ['', `== ${title} ==`, line(header), rule, ...rows.map(line), ...notes.map((n) => `  ${n}`), ''];
  process.stdout.write(`${out.join('\n')}\n`);
}

/** A text table with its own columns (numbers right-aligned), on stdout. */
export function printGrid(title: string, header: string[], rows: string[][], notes: string[] = []): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = (cell: string) => /^[\d,.+−-]/.test(cell);
  const line = (r: string[]) => `| ${widths.map((w, i) => (numeric(r[i] ?? '') ? (r[i] ?? '').padStart(w) : (r[i] ?? '').padEnd(w))).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  const out = ['', `== ${title} ==`, line(header), rule, ...rows.map(line), ...notes.map((n) => `  ${n}`), ''];
  process.stdout.write(`${out.join('\n')}\n`);
}
