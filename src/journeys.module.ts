/**
 * JourneysModule: what a Node host imports. Given the host's ports and the
 * plug-in's configuration it provides the engine, the workers and the pages.
 *
 *   JourneysModule.forRoot({ config: loadConfig(), host: { audience, subscriptions, admin, hooks } })
 */
import { ConfigurableModuleBuilder, DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { BullModule } from '@nestjs/bull';
import type { Sequelize } from 'sequelize';
import type { AppConfig } from './config/env';
import { createSequelize } from './database/database';
import { Db } from './database/db';
import { pluginTables } from './database/tables';
import { HOST_PORTS, type HostPorts } from './host/host.ports';
import { CLOCK, DB, PLUGIN_CONFIG, SEQUELIZE, TABLES, systemClock, type Clock } from './core/tokens';
import { JourneyDefinitionsModule } from './journeys/journey-definitions.module';
import { redisRetryDelay } from './runtime/queue-connection';
import { RuntimeModule } from './runtime/runtime.module';
import { PlannerModule } from './planner/planner.module';
import { ApiModule } from './api/api.module';
import { IngestModule } from './ingest/ingest.module';
import { OpsModule } from './ops/ops.module';

export interface JourneysModuleOptions {
  config: AppConfig;
  host: HostPorts;
  /** Defaults to the system clock; tests pass a movable one. */
  clock?: Clock;
}

const builder = new ConfigurableModuleBuilder<JourneysModuleOptions>().setClassMethodName('forRoot').build();
const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } = builder;

/** Everything the plug-in runs, wired to the options given to forRoot / forRootAsync. */
function withFeatures(definition: DynamicModule): DynamicModule {
  return {
    ...definition,
    global: true,
    imports: [
      ...(definition.imports ?? []),
      BullModule.forRootAsync({
        useFactory: (options: JourneysModuleOptions) => ({
          redis: { host: options.config.REDIS_HOST, port: options.config.REDIS_PORT, db: options.config.REDIS_DB, retryStrategy: redisRetryDelay },
          prefix: options.config.QUEUE_PREFIX,
        }),
        inject: [MODULE_OPTIONS_TOKEN],
      }),
      JourneyDefinitionsModule,
      RuntimeModule,
      // Before PlannerModule: their fixed paths (/journeys/health, /journeys/api, …) must be routed before its /journeys/:journeyId.
      OpsModule,
      ApiModule,
      IngestModule,
      PlannerModule,
    ],
  };
}

export const JOURNEYS_MODULE_OPTIONS = MODULE_OPTIONS_TOKEN;

@Global()
@Module({
  providers: [
    { provide: PLUGIN_CONFIG, useFactory: (o: JourneysModuleOptions) => o.config, inject: [MODULE_OPTIONS_TOKEN] },
    { provide: HOST_PORTS, useFactory: (o: JourneysModuleOptions) => o.host, inject: [MODULE_OPTIONS_TOKEN] },
    { provide: CLOCK, useFactory: (o: JourneysModuleOptions) => o.clock ?? systemClock, inject: [MODULE_OPTIONS_TOKEN] },
    { provide: TABLES, useFactory: (o: JourneysModuleOptions) => pluginTables(o.config.DB_TABLE_PREFIX), inject: [MODULE_OPTIONS_TOKEN] },
    { provide: SEQUELIZE, useFactory: (o: JourneysModuleOptions) => createSequelize(o.config), inject: [MODULE_OPTIONS_TOKEN] },
    { provide: DB, useFactory: (o: JourneysModuleOptions) => new Db(o.config), inject: [MODULE_OPTIONS_TOKEN] },
  ],
  exports: [PLUGIN_CONFIG, HOST_PORTS, CLOCK, TABLES, SEQUELIZE, DB, MODULE_OPTIONS_TOKEN],
})
export class JourneysModule extends ConfigurableModuleClass implements OnApplicationShutdown {
  static override forRoot(options: typeof builder.OPTIONS_TYPE): DynamicModule {
    return withFeatures(super.forRoot(options));
  }

  static override forRootAsync(options: typeof builder.ASYNC_OPTIONS_TYPE): DynamicModule {
    return withFeatures(super.forRootAsync(options));
  }

  constructor(
    @Inject(SEQUELIZE) private readonly sequelize: Sequelize,
    @Inject(DB) private readonly db: Db,
  ) {
    super();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.sequelize.close(), this.db.close()]);
  }
}
