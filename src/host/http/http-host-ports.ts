/**
 * Host ports for a process that reaches the host over HTTP: reads and custom
 * field writes on the host's MySQL schema (in the step's transaction), and
 * Subscribe, Unsubscribe and Send Email through the host's HTTP host API.
 */
import type { Sequelize } from 'sequelize';
import type { AppConfig } from '../../config/env';
import type { HostPorts } from '../host.ports';
import { mysqlWorkerBase } from '../mysql/mysql-worker-base';
import { HostApiClient } from './host-api.client';
import { HttpHostAdapter } from './http-host-adapter';

export type HttpHostPorts = HostPorts & {
  /** Closes the pooled connections to the host API. */
  close(): void;
};

export function httpHostPorts(
  config: Pick<AppConfig, 'DB_TABLE_PREFIX' | 'HOST_API_URL' | 'HOST_API_SECRET' | 'HOST_API_TIMEOUT_MS'>,
  sequelize: Sequelize,
): HttpHostPorts {
  const { audience, fieldWrites, admin, hooks } = mysqlWorkerBase(sequelize, config.DB_TABLE_PREFIX);
  const client = new HostApiClient({ baseUrl: config.HOST_API_URL, secret: config.HOST_API_SECRET, timeoutMs: config.HOST_API_TIMEOUT_MS });
  const http = new HttpHostAdapter(client);
  return {
    audience,
    admin,
    hooks,
    subscriptions: {
      ...fieldWrites,
      subscribe: (userId, listId, input, causation, idempotencyKey) => http.subscribe(userId, listId, input, causation, idempotencyKey),
      unsubscribe: (userId, ref, causation, idempotencyKey) => http.unsubscribe(userId, ref, causation, idempotencyKey),
      subscribeMany: (userId, requests) => http.subscribeMany(userId, requests),
      unsubscribeMany: (userId, requests) => http.unsubscribeMany(userId, requests),
    },
    email: { send: (request) => http.send(request), sendMany: (requests) => http.sendMany(requests) },
    close: () => client.close(),
  };
}
