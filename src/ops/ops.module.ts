/**
 * Operations: health (GET /journeys/health), Prometheus metrics
 * (GET /journeys/metrics) and the queue dashboard for operators
 * (/journeys/admin/queues).
 *
 * The dashboard is an Express sub-application, mounted on the Express
 * instance while the application is created: mounted as Nest middleware after
 * start it would sit behind Nest's not-found handler.
 */
import { Inject, Module, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { AppConfig } from '../config/env';
import { PLUGIN_CONFIG } from '../core/tokens';
import { HOST_PORTS, type HostPorts } from '../host/host.ports';
import { EntryQueue } from '../runtime/entry-queue.service';
import { RuntimeModule } from '../runtime/runtime.module';
import { adminUserIds } from './admin-users';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { operatorsOnly, QUEUE_DASHBOARD_PATH, queueDashboardRouter } from './queue-dashboard';

@Module({
  imports: [RuntimeModule],
  controllers: [HealthController, MetricsController],
})
export class OpsModule {
  constructor(
    @Inject(PLUGIN_CONFIG) config: AppConfig,
    @Inject(HOST_PORTS) host: HostPorts,
    entryQueue: EntryQueue,
    @Optional() @Inject(HttpAdapterHost) adapterHost?: HttpAdapterHost,
  ) {
    const adapter = adapterHost?.httpAdapter;
    if (!adapter) return; // a worker process serves no HTTP
    adapter.use(QUEUE_DASHBOARD_PATH, operatorsOnly(host.admin, adminUserIds(config)), queueDashboardRouter([entryQueue.queue]));
  }
}
