/**
 * Memory of every process a benchmark runs, and of Redis, sampled while it
 * runs: the bench process's RSS (`process.memoryUsage().rss`, every 100 ms),
 * each child process's peak RSS (`VmHWM` in /proc/<pid>/status, read on every
 * sample and once more just before it is stopped), and Redis INFO
 * `used_memory` before, during (its peak) and after. Printed as table rows
 * with the target: every process ≤ 300 MB RSS.
 */
import { readFileSync } from 'fs';
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

export interface ResourceReport {
  /** Name → peak RSS in bytes, the bench process first. */
  processes: { name: string; peakRss: number }[];
  redis: { before: number; after: number; peak: number };
}

export class ResourceMonitor {
  private benchPeak = process.memoryUsage().rss;
  private readonly children = new Map<string, { pid: number; peak: number }>();
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
  watch(name: string, pid: number): void {
    this.children.set(name, { pid, peak: peakRssOf(pid) ?? 0 });
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

  async stop(): Promise<ResourceReport> {
    this.sample();
    clearInterval(this.rssTimer);
    clearInterval(this.redisTimer);
    await this.redisSampling;
    const after = await usedMemory(this.redis);
    this.redis.disconnect();
    return {
      processes: [{ name: 'bench process (host + plug-in)', peakRss: this.benchPeak }, ...[...this.children].map(([name, c]) => ({ name, peakRss: c.peak }))],
      redis: { before: this.redisBefore, after, peak: Math.max(this.redisPeak, after) },
    };
  }
}

/** One row per process (peak RSS, target ≤ 300 MB) and one for Redis. */
export function resourceRows(report: ResourceReport): TableRow[] {
  const rows: TableRow[] = report.processes.map((p) => ({
    metric: `peak RSS, ${p.name}`,
    journeys: fmtBytes(p.peakRss),
    baseline: '-',
    verdict: `target ≤ 300 MB ${met(p.peakRss <= RSS_TARGET_BYTES)}`,
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

/** Whether every process stayed within the RSS target. */
export function rssTargetMet(report: ResourceReport): boolean {
  return report.processes.every((p) => p.peakRss <= RSS_TARGET_BYTES);
}
