/**
 * The host schema with the demo data under a fresh random prefix, without
 * starting any application: for tests of the MySQL adapter and migrations.
 */
import { randomBytes } from 'crypto';
import type { Sequelize } from 'sequelize';
import { loadConfig, type AppConfig } from '../../src/config/env';
import { createSequelize } from '../../src/database/database';
import { hostTables, type HostTables } from '../../src/host/mysql/host-tables';
import { installHostSchema } from '../../reference-host/schema';
import { DEMO, seedDemo } from '../../reference-host/seed';
import { dropSandbox } from './reference-host';

export interface HostSandbox {
  config: AppConfig;
  prefix: string;
  tables: HostTables;
  sequelize: Sequelize;
  demo: typeof DEMO;
  stop(): Promise<void>;
}

export async function createHostSandbox(opts: { seed?: boolean; schema?: boolean } = {}): Promise<HostSandbox> {
  const id = randomBytes(5).toString('hex');
  const config = loadConfig({ ...process.env, DB_TABLE_PREFIX: `t${id}_`, QUEUE_PREFIX: `tq${id}` });
  const sequelize = createSequelize(config);
  if (opts.schema !== false) await installHostSchema(sequelize, config.DB_TABLE_PREFIX);
  if (opts.schema !== false && opts.seed !== false) await seedDemo(sequelize, config.DB_TABLE_PREFIX);
  return {
    config,
    prefix: config.DB_TABLE_PREFIX,
    tables: hostTables(config.DB_TABLE_PREFIX),
    sequelize,
    demo: DEMO,
    async stop() {
      await sequelize.close();
      await dropSandbox(config);
    },
  };
}
