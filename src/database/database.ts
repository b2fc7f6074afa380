import { Sequelize } from 'sequelize';
import type { AppConfig } from '../config/env';

export type DatabaseConfig = Pick<AppConfig, 'DB_HOST' | 'DB_PORT' | 'DB_USER' | 'DB_PASSWORD' | 'DB_NAME' | 'DB_POOL_MAX'>;

/** One Sequelize connection pool. Times are stored in UTC. */
export function createSequelize(config: DatabaseConfig): Sequelize {
  return new Sequelize(config.DB_NAME, config.DB_USER, config.DB_PASSWORD, {
    host: config.DB_HOST,
    port: config.DB_PORT,
    dialect: 'mysql',
    logging: false,
    timezone: '+00:00',
    pool: { max: config.DB_POOL_MAX, min: 0, idle: 10000, acquire: 30000 },
    dialectOptions: { dateStrings: false, supportBigNumbers: true, bigNumberStrings: false },
  });
}
