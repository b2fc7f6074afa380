/**
 * Host ports for separate worker processes in the benchmarks
 * (JOURNEYS_HOST_PORTS=dist/bench/worker-ports.js): the runtime's MySQL worker
 * ports; BENCH_BATCH_FIELDS=0 hides the batch field writer, to measure the
 * one-value-at-a-time fallback.
 */
import type { Sequelize } from 'sequelize';
import type { AppConfig } from '../src/config/env';
import type { HostPorts } from '../src/host/host.ports';
import { mysqlWorkerPorts } from '../src/host/mysql/mysql-worker-ports';

export function createHostPorts(config: AppConfig, sequelize: Sequelize): HostPorts {
  const ports = mysqlWorkerPorts(config, sequelize);
  if (process.env.BENCH_BATCH_FIELDS === '0') ports.subscriptions.setCustomFields = undefined;
  return ports;
}
