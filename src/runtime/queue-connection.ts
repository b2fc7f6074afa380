/**
 * The plug-in's connection to Redis, as the entry queue's client (the one
 * that adds jobs) sees it.
 *
 * Redis only wakes work; MySQL is the truth. So while Redis is away the
 * plug-in goes on taking events in and skips the queueing, which the sweeper
 * makes up for from MySQL once Redis is back. Without this, ioredis keeps a
 * command in its offline queue until the connection returns (Bull's `add`
 * waits for it), and the caller with it: an ingest post held for the whole
 * outage.
 *
 * It says so once when the connection is lost and once when it is back, not
 * once per command that could not run; the same for adds that fail or time
 * out on a connection that stands (Redis out of memory, a network that drops
 * packets), until one succeeds again.
 */
import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Queue } from 'bull';
import type { AppConfig } from '../config/env';
import { PLUGIN_CONFIG } from '../core/tokens';
import { ENTRY_QUEUE } from './queues';

/** The longest pause between two attempts to reconnect: a Redis that is back is found within this. */
export const REDIS_RECONNECT_MAX_MS = 2000;

/** Bull's own reconnection curve (e^attempt ms), capped at REDIS_RECONNECT_MAX_MS instead of Bull's 20 s. */
export function redisRetryDelay(attempt: number): number {
  return Math.min(Math.exp(attempt), REDIS_RECONNECT_MAX_MS);
}

type Client = Queue['client'];

@Injectable()
export class QueueConnection implements OnModuleDestroy {
  private readonly logger = new Logger('JourneysRedis');
  private readonly client: Client;
  private readonly address: string;
  /** When the connection was lost (ms since the epoch); null while it stands. */
  private lostAt: number | null = null;
  /** When adds began to fail on a connection that stands; null while they succeed. */
  private failingSince: number | null = null;
  /** Entries whose queueing was skipped or failed since lostAt or failingSince. */
  private unqueued = 0;
  private lastError: string | null = null;
  private everReady = false;
  private closing = false;
  private readonly restoredListeners: (() => void)[] = [];

  constructor(@InjectQueue(ENTRY_QUEUE) queue: Queue, @Inject(PLUGIN_CONFIG) config: AppConfig) {
    this.client = queue.client;
    this.address = `${config.REDIS_HOST}:${config.REDIS_PORT}`;
    this.client.on('ready', this.onReady);
    this.client.on('close', this.onClose);
    this.client.on('end', this.onClose);
    this.client.on('error', this.onError);
    // The client connects while the application is being built: it may be up, or have failed, already.
    this.everReady = this.client.status === 'ready';
    if (['close', 'reconnecting', 'end'].includes(this.client.status)) this.onClose();
  }

  /** The application closes its queue next: that is no outage. */
  onModuleDestroy(): void {
    this.closing = true;
    this.client.removeListener('ready', this.onReady);
    this.client.removeListener('close', this.onClose);
    this.client.removeListener('end', this.onClose);
    this.client.removeListener('error', this.onError);
  }

  /** Whether a job add is worth trying: false while the connection is lost (the add would wait for its return). */
  get available(): boolean {
    return this.lostAt === null;
  }

  /** Why Redis counts as down (for the health check), or null while the connection stands. */
  get outage(): string | null {
    if (this.lostAt === null) return null;
    return `connection lost ${seconds(Date.now() - this.lostAt)} s ago (${this.client.status})${this.lastError ? `: ${this.lastError}` : ''}`;
  }

  /** Runs `listener` each time the connection comes back after being lost. */
  onRestored(listener: () => void): void {
    this.restoredListeners.push(listener);
  }

  /** Queueing of `entries` entries was skipped because the connection is lost. */
  skipped(entries: number): void {
    this.unqueued += entries;
  }

  /** An add of `entries` entries failed or did not answer in time. */
  addFailed(entries: number, error: unknown): void {
    this.unqueued += entries;
    if (this.lostAt !== null || this.failingSince !== null) return; // told already
    this.failingSince = Date.now();
    this.logger.warn(
      `queueing on Redis at ${this.address} fails (${(error as Error).message}): events are still recorded and enrolled in MySQL, ` +
        'and the sweeper queues what was not queued; said once until queueing works again',
    );
  }

  addSucceeded(): void {
    if (this.failingSince === null) return;
    this.logger.log(
      `queueing on Redis works again after ${seconds(Date.now() - this.failingSince)} s; ` +
        `${this.unqueued} entries may not have been queued meanwhile (the sweeper queues those from MySQL)`,
    );
    this.failingSince = null;
    this.unqueued = 0;
  }

  private readonly onReady = () => {
    this.everReady = true;
    if (this.lostAt === null) return;
    this.logger.log(
      `Redis connection back after ${seconds(Date.now() - this.lostAt)} s (${this.address}); ` +
        `${this.unqueued} entries were not queued meanwhile (the sweeper queues them from MySQL)`,
    );
    this.lostAt = null;
    this.failingSince = null;
    this.unqueued = 0;
    this.lastError = null;
    for (const listener of this.restoredListeners) listener();
  };

  private readonly onClose = () => {
    if (this.closing || this.lostAt !== null) return;
    this.lostAt = Date.now();
    this.logger.warn(
      `${this.everReady ? 'Redis connection lost' : 'Redis unreachable'} (${this.address}${this.lastError ? `: ${this.lastError}` : ''}): ` +
        'events are still recorded and enrolled in MySQL; queueing is skipped until Redis is back, then the sweeper queues the work from MySQL',
    );
  };

  private readonly onError = (error: Error) => {
    this.lastError = error.message;
  };
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
