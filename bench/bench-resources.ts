/**
 * Memory of every process a benchmark runs, and of Redis, sampled while it
 * runs: the bench process's RSS (`process.memoryUsage().rss`, every 100 ms),
 * each child process's peak RSS (`VmHWM` in /proc/<pid>/status, read on every
 * sample and once more just before it is stopped), and Redis INFO
 * `used_memory` before, during (its peak) and after. Printed as table rows
 * with the target: every process ≤ 300 MB RSS.
 */
import { readdirSync, readFileSync } from 'fs';
import Redis from 'ioredis';
import type { AppConfig } from '../src/config/env';
import { fmtBytes, met, usedMemory, type TableRow } from './bench-support';

/** The target for every process of a benchmark. */
export const RSS_TARGET_BYTES = 300 * 1024 * 1024;

const RSS_SAMPLE_MS = 100;
const REDIS_SAMPLE_MS = 500;

/** Peak resident set of a process so far (VmHWM), in bytes; null once it has exited. */
export function peakRssOf(pid: number): number | null {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Linux clock ticks per second (USER_HZ), the unit of utime and stime in /proc/<pid>/stat. */
const CLOCK_TICKS = 100;

/** CPU time a process has used so far (user + system), in ms; null once it has exited. */
function cpuMsOf(pid: number | 'self'): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // after "pid (comm) "
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS; // utime, stime
  } catch {
    return null;
  }
}

/** Pids of the local database and Redis servers (they serve everyone on this machine, so their CPU is not only ours). */
function serverPids(): { name: string; pid: number }[] {
  const found: { name: string; pid: number }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (comm === 'mariadbd' || comm === 'mysqld' || comm === 'redis-server') found.push({ name: `${comm} (shared)`, pid: Number(entry) });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** CPU time of each process at one moment (see ResourceMonitor.cpuMark). */
export interface CpuMark {
  at: number;
  ms: Map<string, number>;
}

export interface ResourceReport {
  /** Name → peak RSS in bytes, the bench process first; a load generator's is shown but not held to the target. */
  processes: { name: string; peakRss: number; loadGenerator: boolean }[];
  redis: { before: number; after: number; peak: number };
}

export class ResourceMonitor {
  private benchPeak = process.memoryUsage().rss;
  private readonly children = new Map<string, { pid: number; peak: number; loadGenerator: boolean }>();
  private redisPeak: number;
  private readonly rssTimer: NodeJS.Timeout;
  private readonly redisTimer: NodeJS.Timeout;
  private redisSampling: Promise<void> = Promise.resolve();

  private constructor(
    private readonly redis: Redis,
    private readonly redisBefore: number,
  ) {
    this.redisPeak = redisBefore;
    this.rssTimer = setInterval(() => this.sample(), RSS_SAMPLE_MS);
    this.redisTimer = setInterval(() => {
      this.redisSampling = this.sampleRedis();
    }, REDIS_SAMPLE_MS);
  }

  static async start(config: Pick<AppConfig, 'REDIS_HOST' | 'REDIS_PORT' | 'REDIS_DB'>): Promise<ResourceMonitor> {
    const redis = new Redis({ host: config.REDIS_HOST, port: config.REDIS_PORT, db: config.REDIS_DB });
    return new ResourceMonitor(redis, await usedMemory(redis));
  }

  /** Follows a child process from now on (its VmHWM covers its whole life, start-up included). */
  watch(name: string, pid: number, opts: { loadGenerator?: boolean } = {}): void {
    this.children.set(name, { pid, peak: peakRssOf(pid) ?? 0, loadGenerator: opts.loadGenerator ?? false });
  }

  /** CPU time used so far by the bench process, the watched children and the local MariaDB / MySQL and Redis servers. */
  cpuMark(): CpuMark {
    const ms = new Map<string, number>();
    ms.set('bench process', cpuMsOf('self') ?? 0);
    for (const [name, child] of this.children) {
      const used = cpuMsOf(child.pid);
      if (used !== null) ms.set(name, used);
    }
    for (const server of serverPids()) {
      const used = cpuMsOf(server.pid);
      if (used !== null) ms.set(server.name, used);
    }
    return { at: Date.now(), ms };
  }

  /** Reads every process once; call it just before stopping a child, while /proc still has it. */
  sample(): void {
    this.benchPeak = Math.max(this.benchPeak, process.memoryUsage().rss);
    for (const child of this.children.values()) child.peak = Math.max(child.peak, peakRssOf(child.pid) ?? 0);
  }

  private async sampleRedis(): Promise<void> {
    try {
      this.redisPeak = Math.max(this.redisPeak, await usedMemory(this.redis));
    } catch {
      // A missed sample only makes the peak less exact.
    }
  }

  /**
   * The peaks so far, without stopping: taken at the end of the plug-in's part of a
   * benchmark, so that a baseline run afterwards in the same process (Bull jobs,
   * plain POSTs) does not count as the plug-in's memory.
   */
  async snapshot(): Promise<ResourceReport> {
    this.sample();
    await this.redisSampling;
    const now = await usedMemory(this.redis);
    return {
      processes: [
        { name: 'bench process (host + plug-in)', peakRss: this.benchPeak, loadGenerator: false },
        ...[...this.children].map(([name, c]) => ({ name, peakRss: c.peak, loadGenerator: c.loadGenerator })),
      ],
      redis: { before: this.redisBefore, after: now, peak: Math.max(this.redisPeak, now) },
    };
  }

  /** Stops sampling; returns the peaks of the whole run. */
  async stop(): Promise<ResourceReport> {
    const report = await this.snapshot();
    clearInterval(this.rssTimer);
    clearInterval(this.redisTimer);
    this.redis.disconnect();
    return report;
  }
}

/** One row per process (peak RSS, target ≤ 300 MB) and one for Redis. */
export function resourceRows(report: ResourceReport): TableRow[] {
  const rows: TableRow[] = report.processes.map((p) => ({
    metric: `peak RSS, ${p.name}`,
    journeys: fmtBytes(p.peakRss),
    baseline: '-',
    verdict: p.loadGenerator ? 'the load generator: not part of the target' : `target ≤ 300 MB ${met(p.peakRss <= RSS_TARGET_BYTES)}`,
  }));
  const { before, after, peak } = report.redis;
  rows.push({
    metric: 'Redis used_memory before → after (peak)',
    journeys: `${fmtBytes(before)} → ${fmtBytes(after)}`,
    baseline: '-',
    verdict: `peak +${fmtBytes(peak - before)} over before (whole server, shared)`,
  });
  return rows;
}

/** "bench process 95%, worker process 1 40%, mariadbd (shared) 70%": each process's CPU between two marks, as a share of one core. */
export function cpuShares(from: CpuMark, to: CpuMark): string {
  const wall = Math.max(1, to.at - from.at);
  const shares = [...to.ms].filter(([name]) => from.ms.has(name)).map(([name, used]) => `${name} ${Math.round(((used - from.ms.get(name)!) * 100) / wall)}%`);
  return `CPU over ${(wall / 1000).toFixed(1)} s (100% = one core): ${shares.join(', ')}`;
}

/** Whether every process of the plug-in and the host stayed within the RSS target. */
export function rssTargetMet(report: ResourceReport): boolean {
  return report.processes.every((p) => p.loadGenerator || p.peakRss <= RSS_TARGET_BYTES);
}
