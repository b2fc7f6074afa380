import { EventEmitter } from 'events';
import { Logger } from '@nestjs/common';
import type { Queue } from 'bull';
import type { AppConfig } from '../config/env';
import { QueueConnection, redisRetryDelay, REDIS_RECONNECT_MAX_MS } from './queue-connection';

/** An ioredis client as far as QueueConnection looks at it: its status and its events. */
class FakeClient extends EventEmitter {
  constructor(public status: string) {
    super();
  }
  go(status: 'ready' | 'close' | 'end', error?: string): void {
    if (error) this.emit('error', new Error(error));
    this.status = status === 'close' ? 'reconnecting' : status;
    this.emit(status);
  }
}

function watch(initialStatus = 'ready') {
  const client = new FakeClient(initialStatus);
  const config = { REDIS_HOST: '10.0.0.5', REDIS_PORT: 6380 } as AppConfig;
  const connection = new QueueConnection({ client } as unknown as Queue, config);
  return { client, connection };
}

describe(QueueConnection.name, () => {
  let lines: [string, string][];

  beforeEach(() => {
    lines = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void lines.push(['warn', String(message)]));
    jest.spyOn(Logger.prototype, 'log').mockImplementation((message: unknown) => void lines.push(['log', String(message)]));
  });
  afterEach(() => jest.restoreAllMocks());

  it('says once that the connection is lost, however many reconnections fail, and once that it is back with what was not queued', () => {
    const { client, connection } = watch();
    const restored = jest.fn();
    connection.onRestored(restored);

    client.go('close', 'read ECONNRESET');
    for (let attempt = 0; attempt < 5; attempt++) client.go('close', 'connect ECONNREFUSED 10.0.0.5:6380');
    expect(lines).toEqual([['warn', expect.stringMatching(/^Redis connection lost \(10\.0\.0\.5:6380: read ECONNRESET\): events are still recorded/)]]);
    expect(connection.available).toBe(false);
    expect(connection.outage).toMatch(/^connection lost \d+\.\d s ago \(reconnecting\): connect ECONNREFUSED/);

    connection.skipped(3);
    connection.skipped(2);
    connection.addFailed(1, new Error('no answer in 1000 ms')); // a command caught by the break: part of the same outage
    expect(lines).toHaveLength(1);

    client.go('ready');
    expect(lines[1]).toEqual([
      'log',
      expect.stringMatching(/^Redis connection back after \d+\.\d s \(10\.0\.0\.5:6380\); 6 entries were not queued meanwhile/),
    ]);
    expect(connection.available).toBe(true);
    expect(connection.outage).toBeNull();
    expect(restored).toHaveBeenCalledTimes(1);

    client.go('ready'); // a ready without a loss before it says nothing
    expect(lines).toHaveLength(2);
    expect(restored).toHaveBeenCalledTimes(1);
  });

  it('adds that fail on a standing connection are said once, until one succeeds', () => {
    const { connection } = watch();
    connection.addFailed(2, new Error('no answer in 1000 ms'));
    connection.addFailed(2, new Error('no answer in 1000 ms'));
    expect(lines).toEqual([['warn', expect.stringMatching(/^queueing on Redis at 10\.0\.0\.5:6380 fails \(no answer in 1000 ms\)/)]]);
    expect(connection.available).toBe(true); // still tried, within the bound

    connection.addSucceeded();
    connection.addSucceeded();
    expect(lines).toEqual([
      ['warn', expect.any(String)],
      ['log', expect.stringMatching(/^queueing on Redis works again after \d+\.\d s; 4 entries may not have been queued meanwhile/)],
    ]);
  });

  it('a Redis unreachable from the start is said once as such', () => {
    const { client, connection } = watch('reconnecting');
    client.go('close', 'connect ECONNREFUSED 10.0.0.5:6380');
    expect(lines).toEqual([['warn', expect.stringMatching(/^Redis unreachable \(10\.0\.0\.5:6380\)/)]]);
    expect(connection.available).toBe(false);
  });

  it('the application closing its queue is no outage', () => {
    const { client, connection } = watch();
    connection.onModuleDestroy();
    client.go('close');
    client.go('end');
    expect(lines).toEqual([]);
  });

  it('reconnects on Bull’s curve, never waiting more than REDIS_RECONNECT_MAX_MS between attempts', () => {
    expect([1, 2, 3, 7].map((n) => Math.round(redisRetryDelay(n)))).toEqual([3, 7, 20, 1097]);
    expect(redisRetryDelay(8)).toBe(REDIS_RECONNECT_MAX_MS);
    expect(redisRetryDelay(1000)).toBe(REDIS_RECONNECT_MAX_MS);
  });
});
