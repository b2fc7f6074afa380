/**
 * Host ports for a worker-only process on the standard host schema: the MySQL
 * adapter reads subscribers and writes custom fields; Subscribe and
 * Unsubscribe need the host's own path, which this process does not have, so
 * they fail as transient errors and are retried (by a process that has it).
 */
import type { Sequelize } from 'sequelize';
import type { AppConfig } from '../../config/env';
import type { HostPorts } from '../host.ports';
import { MySqlAudience } from './mysql-audience';
import { MySqlCustomFieldWriter } from './mysql-custom-field-writer';

export function mysqlWorkerPorts(config: AppConfig, sequelize: Sequelize): HostPorts {
  const audience = new MySqlAudience(sequelize, config.DB_TABLE_PREFIX);
  const writer = new MySqlCustomFieldWriter(sequelize, config.DB_TABLE_PREFIX);
  const noHostPath = async (): Promise<never> => {
    throw new Error('this worker process has no host subscription path (set JOURNEYS_HOST_PORTS)');
  };
  return {
    audience,
    subscriptions: {
      subscribe: noHostPath,
      unsubscribe: noHostPath,
      setCustomField: (u, r, f, v, t) => writer.setCustomField(u, r, f, v, t),
      setCustomFields: (u, l, writes, t) => writer.setCustomFields(u, l, writes, t),
    },
    admin: {
      currentUser: async () => null,
      loginUrl: () => '/',
      renderLayout: async () => '',
    },
    hooks: { on: () => undefined, fire: async () => undefined },
  };
}
