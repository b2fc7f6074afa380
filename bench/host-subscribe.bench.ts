/**
 * Subscribe throughput of the reference host's own path: `POST
 * /api/subscribers/subscribe` over keep-alive HTTP, open loop (requests leave
 * on a fixed schedule and never wait for earlier answers; latency counts from
 * the scheduled send time, so a slow server cannot hide its queue), at several
 * rates. The host runs in a child process with the plug-in loaded and no
 * journeys, so the figures are the host's path plus the plug-in's intake of
 * each Subscriber.Subscribed hook. Target: ≥ 1,000 subscribe requests/s with no 5xx.
 *
 * Every HOST_SUBSCRIBE_REPEAT_EVERY-th request repeats the address sent three
 * requests earlier (usually still in flight at the higher rates), so the race
 * of two sign-ups of one new address is part of the load. Afterwards each
 * address is checked row by row: exactly one row in the list table, the
 * SubscriberID every answer named, one autoresponder record and one
 * Subscriber.Subscribed hook.
 *
 * Baseline, same run, same host: GET of the host's static stylesheet at the
 * highest rate (the HTTP stack alone, with no database work).
 *
 *   npm run build && node dist/bench/host-subscribe.bench.js
 *   node -r @swc-node/register bench/host-subscribe.bench.ts
 *
 * Environment:
 *   HOST_SUBSCRIBE_COUNT=3000           requests per rate
 *   HOST_SUBSCRIBE_RATES=200,500,1000,1500
 *   HOST_SUBSCRIBE_SOCKETS=64           keep-alive sockets of the client (requests queue in the agent beyond that)
 *   HOST_SUBSCRIBE_REPEAT_EVERY=10      0: every address once
 *   HOST_SUBSCRIBE_PROFILE=<dir>        the host process writes a CPU profile there (node --cpu-prof)
 */
import { fork, type ChildProcess } from 'child_process';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import { QueryTypes } from 'sequelize';
import { referenceHostTables } from '../reference-host/schema';
import type { HostSubscriptionCommands } from '../reference-host/subscription-commands.port';
import { envInt, fmtInt, log, machineNote, now, printGrid, startBenchHost } from './bench-support';

export interface HostSubscribeBenchOptions {
  count: number;
  rates: number[];
  sockets: number;
  repeatEvery: number;
  /** Where the host process writes its CPU profile (node --cpu-prof), if anywhere. */
  profileDir?: string;
}

export function hostSubscribeOptionsFromEnv(): HostSubscribeBenchOptions {
  const rates = (process.env.HOST_SUBSCRIBE_RATES ?? '200,500,1000,1500').split(',').map((r) => Number(r.trim()));
  if (rates.some((r) => !Number.isFinite(r) || r <= 0))
    throw new Error(`HOST_SUBSCRIBE_RATES must be positive numbers, got ${process.env.HOST_SUBSCRIBE_RATES}`);
  const repeatEvery = process.env.HOST_SUBSCRIBE_REPEAT_EVERY === '0' ? 0 : envInt('HOST_SUBSCRIBE_REPEAT_EVERY', 10);
  return {
    count: envInt('HOST_SUBSCRIBE_COUNT', 3000),
    rates,
    sockets: envInt('HOST_SUBSCRIBE_SOCKETS', 64),
    repeatEvery,
    profileDir: process.env.HOST_SUBSCRIBE_PROFILE || undefined,
  };
}

/** The list the load goes to: the demo Newsletter list, which has an autoresponder (one log row per real subscription). */
const LIST_ID = 1;
/** No answer this long after the last send: the step gives up (bounded run). */
const DRAIN_TIMEOUT_MS = 60_000;

interface Answer {
  status: number;
  latencyMs: number;
  subscriberId: number | null;
}

interface StepFigures {
  sent: number;
  ok: number;
  clientErrors: number;
  serverErrors: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  sendRate: number;
  answerRate: number;
  serverCpu: number;
  load: number;
}

type HostMessage =
  | { kind: 'ready'; port: number }
  | { kind: 'cpu'; micros: number }
  | { kind: 'verified'; problems: string[]; checked: number; hooks: number; deadlockRetries: number; collidedBatches: number };

/** The child process: the reference host with the plug-in, listening on 127.0.0.1, answering the parent's requests over IPC. */
async function serveHost(): Promise<void> {
  const host = await startBenchHost({});
  const hooksByAddress = new Map<string, number>();
  host.hooks.on('Subscriber.Subscribed', async (payload) => {
    const address = (payload as { EmailAddress: string }).EmailAddress;
    hooksByAddress.set(address, (hooksByAddress.get(address) ?? 0) + 1);
  });
  await host.app.listen(0, '127.0.0.1');
  const { port } = host.app.getHttpServer().address() as AddressInfo;
  const send = (message: HostMessage) => process.send!(message);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await host.stop();
    process.exit(0);
  };
  process.on('disconnect', () => void stop());
  process.on('message', (message: { kind: string; answers?: Record<string, number[]> }) => {
    if (message.kind === 'cpu') {
      const usage = process.cpuUsage();
      send({ kind: 'cpu', micros: usage.user + usage.system });
    } else if (message.kind === 'verify') {
      const { deadlockRetries, collidedBatches } = (host.ports.subscriptions as HostSubscriptionCommands).subscriptions;
      void verifyRows(host, message.answers ?? {}, hooksByAddress).then((v) => send({ kind: 'verified', ...v, deadlockRetries, collidedBatches }));
    } else if (message.kind === 'stop') void stop();
  });
  send({ kind: 'ready', port });
}

/** Row by row: each address once in the list table, with the id every answer named, one autoresponder record, one hook. */
async function verifyRows(
  host: Awaited<ReturnType<typeof startBenchHost>>,
  answers: Record<string, number[]>,
  hooks: Map<string, number>,
): Promise<{ problems: string[]; checked: number; hooks: number }> {
  const problems: string[] = [];
  const rows = await host.sequelize.query<{ SubscriberID: number; EmailAddress: string; SubscriptionStatus: string; Records: number; Events: number }>(
    `SELECT s.SubscriberID, s.EmailAddress, s.SubscriptionStatus,
            (SELECT COUNT(*) FROM \`${host.tables.autoresponderLog}\` g WHERE g.RelListID = ? AND g.RelSubscriberID = s.SubscriberID) AS Records,
            (SELECT COUNT(*) FROM \`${referenceHostTables(host.prefix).subscriptionEvents}\` e WHERE e.RelListID = ? AND e.RelSubscriberID = s.SubscriberID) AS Events
       FROM \`${host.tables.subscribers(LIST_ID)}\` s WHERE s.EmailAddress LIKE 'hsb-%'`,
    { type: QueryTypes.SELECT, replacements: [LIST_ID, LIST_ID] },
  );
  const byAddress = new Map<string, typeof rows>();
  for (const row of rows) byAddress.set(row.EmailAddress, [...(byAddress.get(row.EmailAddress) ?? []), row]);
  for (const [address, ids] of Object.entries(answers)) {
    const found = byAddress.get(address) ?? [];
    if (found.length !== 1) problems.push(`${address}: ${found.length} rows`);
    else {
      const [row] = found;
      if (row.SubscriptionStatus !== 'Subscribed') problems.push(`${address}: ${row.SubscriptionStatus}`);
      if (ids.some((id) => id !== Number(row.SubscriberID))) problems.push(`${address}: answered ids ${ids.join(',')} but the row is ${row.SubscriberID}`);
      if (Number(row.Records) !== 1) problems.push(`${address}: ${row.Records} autoresponder records`);
      if (Number(row.Events) !== 1) problems.push(`${address}: ${row.Events} subscription events`);
    }
    if ((hooks.get(address) ?? 0) !== 1) problems.push(`${address}: ${hooks.get(address) ?? 0} Subscriber.Subscribed hooks`);
    byAddress.delete(address);
  }
  for (const address of byAddress.keys()) problems.push(`${address}: a row no request asked for`);
  return { problems, checked: Object.keys(answers).length, hooks: [...hooks.values()].reduce((a, b) => a + b, 0) };
}

function startHostProcess(profileDir: string | undefined): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(__filename, [], {
    execArgv: [...(__filename.endsWith('.ts') ? ['-r', '@swc-node/register'] : []), ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
    env: { ...process.env, HOST_SUBSCRIBE_ROLE: 'host' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m: HostMessage) => (m.kind === 'ready' ? resolve({ child, port: m.port }) : reject(new Error(`unexpected ${m.kind}`))));
    child.once('exit', (code) => reject(new Error(`host process exited with ${code} before it was ready`)));
  });
}

function ask<K extends HostMessage['kind']>(child: ChildProcess, message: object, kind: K): Promise<Extract<HostMessage, { kind: K }>> {
  return new Promise((resolve) => {
    const listener = (m: HostMessage) => {
      if (m.kind !== kind) return;
      child.off('message', listener);
      resolve(m as Extract<HostMessage, { kind: K }>);
    };
    child.on('message', listener);
    child.send(message);
  });
}

interface PlannedRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}

function subscriberIdIn(body: Buffer): number | null {
  try {
    return (JSON.parse(body.toString('utf8')) as { SubscriberID?: number }).SubscriberID ?? null;
  } catch {
    return null;
  }
}

/** Sends `requests` at `rate` per second on a fixed schedule; each answer's latency counts from its scheduled time. */
async function openLoop(port: number, agent: http.Agent, requests: PlannedRequest[], rate: number): Promise<{ answers: (Answer | null)[]; spanMs: number }> {
  const answers: (Answer | null)[] = new Array(requests.length).fill(null);
  const start = now() + 20;
  const due = (i: number) => start + (i * 1000) / rate;
  let next = 0;
  let pending = requests.length;
  let lastAnswer = start;
  await new Promise<void>((resolve) => {
    const finish = () => {
      if (--pending === 0) resolve();
    };
    const send = (i: number) => {
      const { method, path, body } = requests[i];
      const headers: http.OutgoingHttpHeaders = body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {};
      const req = http.request({ agent, host: '127.0.0.1', port, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          lastAnswer = now();
          answers[i] = { status: res.statusCode ?? 0, latencyMs: lastAnswer - due(i), subscriberId: subscriberIdIn(Buffer.concat(chunks)) };
          finish();
        });
      });
      req.setTimeout(DRAIN_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        answers[i] = { status: 0, latencyMs: now() - due(i), subscriberId: null };
        finish();
      });
      req.end(body);
    };
    const tick = () => {
      const t = now();
      while (next < requests.length && due(next) <= t) send(next++);
      if (next < requests.length) setTimeout(tick, Math.max(0, due(next) - now()));
    };
    setTimeout(tick, Math.max(0, start - now()));
  });
  return { answers, spanMs: lastAnswer - start };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function figures(answers: (Answer | null)[], spanMs: number, rate: number, cpuMicros: number): StepFigures {
  const done = answers.filter((a): a is Answer => a !== null);
  const latencies = done.map((a) => a.latencyMs).sort((a, b) => a - b);
  const ok = done.filter((a) => a.status >= 200 && a.status < 300).length;
  return {
    sent: answers.length,
    ok,
    clientErrors: done.filter((a) => a.status >= 400 && a.status < 500).length,
    serverErrors: answers.length - ok - done.filter((a) => a.status >= 400 && a.status < 500).length,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
    sendRate: rate,
    answerRate: (ok * 1000) / spanMs,
    serverCpu: cpuMicros / 1000 / spanMs,
    load: os.loadavg()[0],
  };
}

/** The subscribe requests of one rate step: fresh addresses, every `repeatEvery`-th one repeating the address sent three before. */
function subscribeRequests(rate: number, count: number, repeatEvery: number): { requests: PlannedRequest[]; addresses: string[] } {
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    addresses.push(repeatEvery > 0 && i >= 3 && i % repeatEvery === repeatEvery - 1 ? addresses[i - 3] : `hsb-${rate}-${i}@bench.example.com`);
  }
  const requests = addresses.map((address) => ({
    method: 'POST' as const,
    path: '/api/subscribers/subscribe',
    body: JSON.stringify({ ListID: LIST_ID, EmailAddress: address }),
  }));
  return { requests, addresses };
}

const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(1)} ms` : '–');

function rowOf(label: string, f: StepFigures, target: string): string[] {
  return [
    label,
    fmtInt(f.sent),
    fmtInt(f.ok),
    fmtInt(f.clientErrors),
    fmtInt(f.serverErrors),
    ms(f.p50),
    ms(f.p95),
    ms(f.p99),
    ms(f.max),
    fmtInt(f.answerRate),
    `${Math.round(f.serverCpu * 100)}%`,
    f.load.toFixed(1),
    target,
  ];
}

export async function runHostSubscribeBench(opts: HostSubscribeBenchOptions): Promise<{ problems: string[] }> {
  log(`host subscribe: ${fmtInt(opts.count)} requests at each of ${opts.rates.join(', ')}/s, ${opts.sockets} keep-alive sockets`);
  const { child, port } = await startHostProcess(opts.profileDir);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.sockets });
  const rows: string[][] = [];
  const answered: Record<string, number[]> = {};
  let serverErrors = 0;
  try {
    const cpu = async () => (await ask(child, { kind: 'cpu' }, 'cpu')).micros;
    const step = async (requests: PlannedRequest[], rate: number) => {
      const before = await cpu();
      const { answers, spanMs } = await openLoop(port, agent, requests, rate);
      const result = figures(answers, spanMs, rate, (await cpu()) - before);
      await new Promise((r) => setTimeout(r, 1000));
      return { answers, result };
    };
    for (const rate of opts.rates) {
      const { requests, addresses } = subscribeRequests(rate, opts.count, opts.repeatEvery);
      const { answers, result } = await step(requests, rate);
      answers.forEach((a, i) => {
        if (a && a.status === 200 && a.subscriberId !== null) answered[addresses[i]] = [...(answered[addresses[i]] ?? []), a.subscriberId];
      });
      serverErrors += result.serverErrors;
      const met = result.serverErrors === 0 && result.answerRate >= Math.min(rate, 1000) * 0.95;
      rows.push(rowOf(`subscribe at ${fmtInt(rate)}/s`, result, rate >= 1000 ? (met ? 'MET' : 'NOT MET') : met ? 'kept up' : 'fell behind'));
      log(`  ${fmtInt(rate)}/s: ${fmtInt(result.ok)} ok, ${result.serverErrors} errors, p99 ${ms(result.p99)}`);
    }
    const topRate = Math.max(...opts.rates);
    const baseline = await step(
      Array.from({ length: opts.count }, () => ({ method: 'GET' as const, path: '/host/assets/host.css' })),
      topRate,
    );
    rows.push(rowOf(`baseline: static GET at ${fmtInt(topRate)}/s`, baseline.result, ''));
    const verified = await ask(child, { kind: 'verify', answers: answered }, 'verified');
    const problems = [...verified.problems];
    if (serverErrors > 0) problems.unshift(`${serverErrors} requests answered 5xx or failed`);
    printGrid(
      'Reference host subscribe path (POST /api/subscribers/subscribe, open loop, keep-alive)',
      ['load', 'sent', '2xx', '4xx', '5xx/failed', 'p50', 'p95', 'p99', 'max', 'answered/s', 'host CPU', 'load avg', 'target ≥ 1,000/s, no 5xx'],
      rows,
      [
        `latency from each request's scheduled send time; host CPU: the host process's CPU time over the step's wall time (100% = one core); load avg: 1-minute, at the end of the step`,
        `list: demo Newsletter (one autoresponder), no journeys; every ${opts.repeatEvery || '∞'}th request repeats the address sent 3 requests earlier`,
        `deadlock retries in the host's subscription path: ${verified.deadlockRetries}; batches of public sign-ups that collided with another sign-up and ran again: ${verified.collidedBatches}`,
        `checks: ${fmtInt(verified.checked)} addresses, each one row with the answered SubscriberID, one autoresponder record, one subscription event, one hook (${fmtInt(verified.hooks)} hooks in all): ${
          problems.length === 0 ? 'all passed' : `${problems.length} problems, first: ${problems.slice(0, 5).join('; ')}`
        }`,
        machineNote(),
      ],
    );
    return { problems };
  } finally {
    agent.destroy();
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.send({ kind: 'stop' });
    });
  }
}

if (require.main === module) {
  const main = process.env.HOST_SUBSCRIBE_ROLE === 'host' ? serveHost() : runHostSubscribeBench(hostSubscribeOptionsFromEnv());
  main.then(
    (result) => {
      if (result) process.exit(result.problems.length > 0 ? 1 : 0);
    },
    (error: Error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
