/**
 * Health of what the runtime depends on: MySQL (SELECT 1) and Redis (PING on
 * the queue's connection). The web layer serves it; each check is time-limited.
 */
import { Inject, Injectable } from '@nestjs/common';
import { DB } from '../core/tokens';
import type { Db } from '../database/db';
import { EntryQueue } from './entry-queue.service';

export interface DependencyHealth {
  status: 'up' | 'down';
  error?: string;
}

export interface RuntimeHealthReport {
  status: 'up' | 'down';
  mysql: DependencyHealth;
  redis: DependencyHealth;
}

async function probe(check: () => Promise<unknown>, timeoutMs: number): Promise<DependencyHealth> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([check(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs)))]);
    return { status: 'up' };
  } catch (error) {
    return { status: 'down', error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

@Injectable()
export class RuntimeHealth {
  constructor(
    @Inject(DB) private readonly db: Db,
    private readonly entryQueue: EntryQueue,
  ) {}

  async check(timeoutMs = 2000): Promise<RuntimeHealthReport> {
    const [mysql, redis] = await Promise.all([probe(() => this.db.select('SELECT 1'), timeoutMs), probe(() => this.entryQueue.queue.client.ping(), timeoutMs)]);
    return { status: mysql.status === 'up' && redis.status === 'up' ? 'up' : 'down', mysql, redis };
  }
}
