/**
 * Baselines measured in the same run as the plug-in's figures:
 * - the raw Bull ceiling: no-op jobs added with addBulk (chunks of 1,000) and
 *   consumed by a processor with concurrency 50, on a queue with its own
 *   prefix in the same Redis: what a queue alone does on this machine;
 * - the same with one delayed job per entry, all due at one instant (a naive wake storm);
 * - plain keep-alive HTTP POSTs to the local receiver, with bounded concurrency:
 *   what the machine does for HTTP alone;
 * and the local webhook receiver itself (127.0.0.1, answers 200, counts each
 * webhook-id it receives).
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import Bull from 'bull';
import Redis from 'ioredis';
import { chunk } from '../src/runtime/queues';
import { deleteKeys, now, type BenchHost } from './bench-support';
import { epochNow } from './bench-latency';

export const RAW_BULL_CONCURRENCY = 50;
const RAW_BULL_CHUNK = 1000;

export interface RateResult {
  count: number;
  ms: number;
  perSecond: number;
}

const rate = (count: number, ms: number): RateResult => ({ count, ms, perSecond: (count * 1000) / ms });

/**
 * A throw-away Bull queue under this run's prefix + `suffix`, whose no-op processor
 * (concurrency 50) calls `onCompleted` for each job done; its keys are deleted after `work`.
 */
async function withRawQueue<T>(host: BenchHost, suffix: string, onCompleted: () => void, work: (queue: Bull.Queue) => Promise<T>): Promise<T> {
  const prefix = `${host.config.QUEUE_PREFIX}${suffix}`;
  const redisOptions = { host: host.config.REDIS_HOST, port: host.config.REDIS_PORT, db: host.config.REDIS_DB };
  const queue = new Bull(`bench-${suffix}`, { prefix, redis: redisOptions });
  const redis = new Redis(redisOptions);
  try {
    await queue.isReady();
    queue.on('completed', onCompleted);
    void queue.process(RAW_BULL_CONCURRENCY, async () => undefined);
    return await work(queue);
  } finally {
    await queue.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
}

/** Adds `jobs` no-op jobs with addBulk in chunks of 1,000; `delay()` is asked per chunk. */
async function addNoOpJobs(queue: Bull.Queue, jobs: number, delay: () => number | undefined = () => undefined): Promise<void> {
  for (const ids of chunk(
    Array.from({ length: jobs }, (_, i) => i),
    RAW_BULL_CHUNK,
  )) {
    const opts = { delay: delay(), removeOnComplete: true, removeOnFail: true };
    await queue.addBulk(ids.map((i) => ({ data: { i }, opts })));
  }
}

/** `jobs` no-op jobs through a Bull queue of this run's Redis: from the first addBulk to the last job completed. */
export async function rawBullCeiling(host: BenchHost, jobs: number): Promise<RateResult> {
  let completed = 0;
  let allDone!: (at: number) => void;
  const done = new Promise<number>((resolve) => (allDone = resolve));
  return withRawQueue(
    host,
    'raw',
    () => {
      if (++completed === jobs) allDone(now());
    },
    async (queue) => {
      const t0 = now();
      await addNoOpJobs(queue, jobs);
      return rate(jobs, (await done) - t0);
    },
  );
}

/**
 * The naive wake storm: one Bull delayed job per entry, all due at the same
 * instant (`leadMs` after the first is added), consumed by a no-op processor
 * with concurrency 50. Returns each job's lateness (completed − due, ms).
 */
export async function rawBullDelayedStorm(host: BenchHost, jobs: number, leadMs: number): Promise<{ lateness: number[]; addMs: number }> {
  const lateness: number[] = [];
  const dueAt = epochNow() + leadMs;
  let allDone!: () => void;
  const done = new Promise<void>((resolve) => (allDone = resolve));
  return withRawQueue(
    host,
    'rawwake',
    () => {
      lateness.push(epochNow() - dueAt);
      if (lateness.length === jobs) allDone();
    },
    async (queue) => {
      const t0 = now();
      await addNoOpJobs(queue, jobs, () => Math.max(1, Math.round(dueAt - epochNow())));
      const addMs = now() - t0;
      if (epochNow() > dueAt) throw new Error(`adding ${jobs} delayed jobs took ${Math.round(addMs)} ms, past their due time: raise the lead time`);
      await done;
      return { lateness, addMs };
    },
  );
}

export interface WebhookReceiver {
  url: string;
  /** webhook-id → how many times it arrived. */
  received: Map<string, number>;
  /** Requests answered, webhook-id or not. */
  requests(): number;
  close(): Promise<void>;
}

/** A local receiver: reads the body, answers 200, counts every webhook-id. */
export async function startReceiver(): Promise<WebhookReceiver> {
  const received = new Map<string, number>();
  let requests = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      const id = req.headers['webhook-id'];
      if (typeof id === 'string') received.set(id, (received.get(id) ?? 0) + 1);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** POSTs `body` to `url` `count` times over a keep-alive agent, `concurrency` in flight at once; throws on any status but 2xx. */
export async function plainPosts(url: string, count: number, concurrency: number, body: string): Promise<RateResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const post = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        url,
        { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode && res.statusCode < 300 ? resolve() : reject(new Error(`plain POST answered ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  let next = 0;
  const t0 = now();
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, count) }, async () => {
        while (next < count) {
          next++;
          await post();
        }
      }),
    );
    return rate(count, now() - t0);
  } finally {
    agent.destroy();
  }
}
