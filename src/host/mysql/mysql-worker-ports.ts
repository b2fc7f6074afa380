/**
 * Host ports for a worker-only process that has only the host's MySQL schema:
 * reads and custom field writes work; Subscribe and Unsubscribe need the
 * host's own path, so they fail as transient errors and are retried (by a
 * process that has it). Worker processes use the HTTP host adapter by default
 * (src/host/http); this is for a host that wants its workers off HTTP.
 */
import type { Sequelize } from 'sequelize';
import type { AppConfig } from '../../config/env';
import type { HostPorts } from '../host.ports';
import { mysqlWorkerBase } from './mysql-worker-base';

export function mysqlWorkerPorts(config: Pick<AppConfig, 'DB_TABLE_PREFIX'>, sequelize: Sequelize): HostPorts {
  const { audience, fieldWrites, admin, hooks } = mysqlWorkerBase(sequelize, config.DB_TABLE_PREFIX);
  const noHostPath = async (): Promise<never> => {
    throw new Error('this worker process has no host subscription path (set HOST_API_URL or JOURNEYS_HOST_PORTS)');
  };
  return { audience, admin, hooks, subscriptions: { ...fieldWrites, subscribe: noHostPath, unsubscribe: noHostPath } };
}
