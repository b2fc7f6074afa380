/**
 * Health of what the runtime depends on: MySQL (SELECT 1) and Redis (PING on
 * the queue's connection, or down at once while that connection is lost). The
 * web layer serves it; each check is time-limited.
 */
import { Inject, Injectable } from '@nestjs/common';
import { withinMs } from '../common/time-limit';
import { DB } from '../core/tokens';
import type { Db } from '../database/db';
import { EntryQueue } from './entry-queue.service';
import { QueueConnection } from './queue-connection';

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
  try {
    await withinMs(check(), timeoutMs);
    return { status: 'up' };
  } catch (error) {
    return { status: 'down', error: (error as Error).message };
  }
}

@Injectable()
export class RuntimeHealth {
  constructor(
    @Inject(DB) private readonly db: Db,
    private readonly entryQueue: EntryQueue,
    private readonly connection: QueueConnection,
  ) {}

  async check(timeoutMs = 2000): Promise<RuntimeHealthReport> {
    const [mysql, redis] = await Promise.all([probe(() => this.db.select('SELECT 1'), timeoutMs), this.redis(timeoutMs)]);
    return { status: mysql.status === 'up' && redis.status === 'up' ? 'up' : 'down', mysql, redis };
  }

  /** A PING while the connection stands; while it is lost, ioredis would hold the PING until it returns. */
  private redis(timeoutMs: number): Promise<DependencyHealth> {
    const outage = this.connection.outage;
    if (outage) return Promise.resolve({ status: 'down', error: outage });
    return probe(() => this.entryQueue.queue.client.ping(), timeoutMs);
  }
}
