/**
 * The reference host with the plug-in, on real MariaDB and Redis, in a
 * sandbox of its own: a fresh random table prefix and queue prefix per call,
 * dropped by stop(), so tests and benchmarks running at the same time never
 * see each other's rows or jobs.
 *
 *   const host = await startSandboxHost();
 *   …
 *   await host.stop();
 */
import { randomBytes } from 'crypto';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import type { INestApplication, LoggerService } from '@nestjs/common';
import Redis from 'ioredis';
import type { RowDataPacket } from 'mysql2';
import { QueryTypes, type Sequelize } from 'sequelize';
import { loadConfig, type AppConfig } from '../src/config/env';
import type { Clock } from '../src/core/tokens';
import type { HostPorts, SubscriberRef } from '../src/host/host.ports';
import { hostTables, type HostTables } from '../src/host/mysql/host-tables';
import { createReferenceHost, type ReferenceHost } from './app';
import type { HostHookBus } from './hook-bus';
import { DEMO, type DemoData } from './seed';
import { PluginLoader } from './plugin-loader';
import type { PluginHandle } from '../src/plugin/plugin-handle';

export interface SandboxHost {
  app: INestApplication;
  /** The HTTP server (for supertest: request(host.server)). */
  server: Server;
  config: AppConfig;
  /** DB_TABLE_PREFIX of this host, e.g. `t3f9a1c2d_`. */
  prefix: string;
  /** Host table names under this prefix (users, lists, subscribers(listId), autoresponderLog, opens, …). */
  tables: HostTables;
  /** The host's own database connection. */
  sequelize: Sequelize;
  /** `http://127.0.0.1:<port>` when started with `listen: true`. */
  baseUrl?: string;
  /** The ports given to JourneysModule.forRoot (audience, subscriptions, admin, hooks). */
  ports: HostPorts;
  /** The host's hook bus: `hooks.on(name, fn)` to watch what the host fires, `hooks.off` to stop. */
  hooks: HostHookBus;
  /** What the plug-in's `load` returned (given to every hook handler). */
  plugin: PluginHandle;
  /** Fixed ids and names of the demo data (see reference-host/seed.ts). */
  demo: DemoData;
  /** `Cookie` header value that logs `userId` in to the host admin. */
  cookieFor(userId: number): string;
  /** Records every payload the host fires for `hookName` from now on. */
  captureHook<T = Record<string, unknown>>(hookName: string): T[];
  /** Reads a subscriber row of a per-list table straight from the database (all columns). */
  subscriberRow(ref: SubscriberRef): Promise<Record<string, unknown> | undefined>;
  /** Runs SQL on the host database; `{table}` style names come from `tables`. */
  query<T extends object = Record<string, unknown>>(sql: string, replacements?: unknown[]): Promise<T[]>;
  /** Closes the app, drops every table with this prefix and deletes this host's Redis keys. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra environment (over process.env); DB_TABLE_PREFIX and QUEUE_PREFIX are always fresh unless given here. */
  env?: Record<string, string>;
  clock?: Clock;
  /** Listen on a random port of 127.0.0.1 (browser tests). Default false. */
  listen?: boolean;
  /** Seed the demo data. Default true. */
  seed?: boolean;
  /** Where the application logs (e.g. a JsonLogger into a test's buffer). Default: Nest's console logger, errors only. */
  logger?: LoggerService;
}

let loader: PluginLoader | undefined;

export async function startSandboxHost(opts: StartOptions = {}): Promise<SandboxHost> {
  const id = randomBytes(5).toString('hex');
  loader ??= new PluginLoader();
  const config = loadConfig(
    loader.settingsEnv({
      ...process.env,
      DB_TABLE_PREFIX: `t${id}_`,
      QUEUE_PREFIX: `tq${id}`,
      LOG_LEVEL: 'warn',
      ...opts.env,
    }),
  );
  let host: ReferenceHost;
  try {
    host = await createReferenceHost({ config, clock: opts.clock, seed: opts.seed, loader, logger: opts.logger ?? ['error'] });
  } catch (error) {
    await dropSandbox(config);
    throw error;
  }
  let baseUrl: string | undefined;
  if (opts.listen) {
    await host.app.listen(0, '127.0.0.1');
    const address = host.app.getHttpServer().address() as AddressInfo;
    baseUrl = `http://127.0.0.1:${address.port}`;
  }
  const tables = hostTables(config.DB_TABLE_PREFIX);
  let stopped = false;
  return {
    app: host.app,
    server: host.app.getHttpServer(),
    config,
    prefix: config.DB_TABLE_PREFIX,
    tables,
    sequelize: host.sequelize,
    baseUrl,
    ports: host.ports,
    hooks: host.services.hooks,
    plugin: host.plugin.handle as PluginHandle,
    demo: DEMO,
    cookieFor: (userId) => host.services.session.cookie(userId),
    captureHook<T>(hookName: string) {
      const seen: T[] = [];
      host.services.hooks.on(hookName, async (payload) => {
        seen.push(payload as T);
      });
      return seen;
    },
    async subscriberRow(ref) {
      const [row] = await host.sequelize.query<Record<string, unknown>>(`SELECT * FROM \`${tables.subscribers(ref.listId)}\` WHERE SubscriberID = ?`, {
        type: QueryTypes.SELECT,
        replacements: [ref.subscriberId],
      });
      return row;
    },
    query<T extends object>(sql: string, replacements: unknown[] = []) {
      return host.sequelize.query<T>(sql, { type: QueryTypes.SELECT, replacements });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await host.close();
      await dropSandbox(config);
    },
  };
}

/** Drops the tables of this prefix only (LIKE with `_` escaped) and deletes the Redis keys of this queue prefix only. */
export async function dropSandbox(config: AppConfig): Promise<void> {
  const { createConnection } = await import('mysql2/promise');
  const db = await createConnection({
    host: config.DB_HOST,
    port: config.DB_PORT,
    user: config.DB_USER,
    password: config.DB_PASSWORD,
    database: config.DB_NAME,
  });
  try {
    if (config.DB_TABLE_PREFIX.length >= 4) {
      const pattern = `${config.DB_TABLE_PREFIX.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const [rows] = await db.query<RowDataPacket[]>('SHOW TABLES LIKE ?', [pattern]);
      const names = rows.map((r) => String(Object.values(r)[0])).filter((n) => n.startsWith(config.DB_TABLE_PREFIX));
      if (names.length > 0) await db.query(`DROP TABLE IF EXISTS ${names.map((n) => `\`${n}\``).join(', ')}`);
    }
  } finally {
    await db.end();
  }
  const redis = new Redis({ host: config.REDIS_HOST, port: config.REDIS_PORT, db: config.REDIS_DB, lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.QUEUE_PREFIX}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
