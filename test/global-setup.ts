/** Fails fast with a clear message when MariaDB or Redis is not reachable. */
import { createConnection } from 'mysql2/promise';
import { loadConfig } from '../src/config/env';
import Redis from 'ioredis';

export default async function globalSetup(): Promise<void> {
  const config = loadConfig();
  const db = await createConnection({
    host: config.DB_HOST,
    port: config.DB_PORT,
    user: config.DB_USER,
    password: config.DB_PASSWORD,
    database: config.DB_NAME,
  }).catch((e: Error) => {
    throw new Error(`MySQL/MariaDB is not reachable at ${config.DB_HOST}:${config.DB_PORT} (${e.message}); start it before running the tests`);
  });
  await db.end();
  const redis = new Redis({ host: config.REDIS_HOST, port: config.REDIS_PORT, lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect().catch((e: Error) => {
    throw new Error(`Redis is not reachable at ${config.REDIS_HOST}:${config.REDIS_PORT} (${e.message}); start it before running the tests`);
  });
  redis.disconnect();
}
