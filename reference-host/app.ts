/**
 * The reference host: a small NestJS (express) application that behaves like
 * the email marketing host for everything the plug-in touches, and loads the
 * plug-in only through plugin.json.
 */
import { Logger, Module, type DynamicModule, type LoggerService, type LogLevel, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import cookieParser from 'cookie-parser';
import helmet from 'helmet';
import type { Sequelize } from 'sequelize';
import type { AppConfig } from '../src/config/env';
import { systemClock, type Clock } from '../src/core/tokens';
import { createSequelize } from '../src/database/database';
import type { HostPorts } from '../src/host/host.ports';
import { hostTables } from '../src/host/mysql/host-tables';
import { MySqlAudience } from '../src/host/mysql/mysql-audience';
import { MySqlCustomFieldWriter } from '../src/host/mysql/mysql-custom-field-writer';
import { PLANNER_HELMET_OPTIONS } from '../src/planner/planner.module';
import { HostActivity } from './activity.service';
import { HostAdminContext } from './admin-context';
import { HostEmailSenderPort } from './email-sender.port';
import { HostEmailSender } from './email-sender.service';
import { HostApiModule } from './host-api.controller';
import { HostHookBus } from './hook-bus';
import { createHostDb } from './host-db';
import { HOST_SERVICES, type HostServices } from './host-services';
import { HostPagesController, HostSubscribersApiController, HostTrackingController } from './host.controllers';
import { PluginLoader, type LoadedPlugin } from './plugin-loader';
import { installHostSchema } from './schema';
import { seedDemo } from './seed';
import { HostSessions } from './session';
import { HostTryItController } from './try-it';
import { HostSubscriptionCommands } from './subscription-commands.port';
import { HostSubscriptions } from './subscriptions.service';

export interface ReferenceHostOptions {
  config: AppConfig;
  clock?: Clock;
  /** Seed the demo data (idempotent). Default true. */
  seed?: boolean;
  /** Nest log levels; false silences Nest. */
  logger?: LogLevel[] | LoggerService | false;
  loader?: PluginLoader;
}

export interface ReferenceHost {
  app: NestExpressApplication;
  config: AppConfig;
  /** The host's own database connection. */
  sequelize: Sequelize;
  services: HostServices;
  ports: HostPorts;
  plugin: LoadedPlugin;
  close(): Promise<void>;
}

export async function createReferenceHost(options: ReferenceHostOptions): Promise<ReferenceHost> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const loader = options.loader ?? new PluginLoader();
  const sequelize = createSequelize(config);
  const db = createHostDb(config);
  try {
    await installHostSchema(sequelize, config.DB_TABLE_PREFIX);
    if (options.seed !== false) await seedDemo(sequelize, config.DB_TABLE_PREFIX);
    await loader.enable(config);

    const hooks = new HostHookBus();
    const audience = new MySqlAudience(sequelize, config.DB_TABLE_PREFIX);
    const session = new HostSessions(config.SESSION_SECRET, clock, sequelize, config.DB_TABLE_PREFIX);
    const admin = new HostAdminContext(session, audience);
    const fieldWriter = new MySqlCustomFieldWriter(sequelize, config.DB_TABLE_PREFIX);
    const subscriptions = new HostSubscriptions(db, config.DB_TABLE_PREFIX, fieldWriter, hooks, clock);
    const email = new HostEmailSender(db, config.DB_TABLE_PREFIX, clock);
    const activity = new HostActivity(sequelize, config.DB_TABLE_PREFIX, hooks, clock);
    const services: HostServices = { sequelize, tables: hostTables(config.DB_TABLE_PREFIX), audience, subscriptions, email, activity, admin, hooks, session };
    const ports: HostPorts = { audience, subscriptions: new HostSubscriptionCommands(subscriptions), email: new HostEmailSenderPort(email), admin, hooks };

    const pluginModule = loader.entryModule({ config, host: ports, clock });
    const app = await NestFactory.create<NestExpressApplication>(hostModule(pluginModule, services, config), {
      logger: options.logger ?? ['error', 'warn'],
      abortOnError: false,
    });
    app.use(cookieParser());
    app.enableShutdownHooks();
    app.set('trust proxy', 'loopback');
    await app.init();
    const plugin = await loader.load(app, config, { hooks, addMenuEntries: (entries) => admin.addMenuEntries(entries) });

    let closed = false;
    return {
      app,
      config,
      sequelize,
      services,
      ports,
      plugin,
      async close() {
        if (closed) return;
        closed = true;
        await plugin.disable().catch((e) => new Logger('ReferenceHost').warn(`disable failed: ${e.message}`));
        await app.close();
        await sequelize.close();
        await db.end();
      },
    };
  } catch (error) {
    await sequelize.close().catch(() => undefined);
    await db.end().catch(() => undefined);
    throw error;
  }
}

function hostModule(pluginModule: DynamicModule, services: HostServices, config: AppConfig): DynamicModule {
  @Module({})
  class ReferenceHostModule implements NestModule {
    configure(consumer: MiddlewareConsumer): void {
      // The host's pages send the same headers as the plug-in's (CSP, frame-ancestors, nosniff, referrer policy).
      consumer.apply(helmet(PLANNER_HELMET_OPTIONS)).forRoutes(HostPagesController, HostTryItController);
    }
  }
  return {
    module: ReferenceHostModule,
    imports: [pluginModule, HostApiModule.register(services, config.HOST_API_SECRET)],
    controllers: [HostPagesController, HostSubscribersApiController, HostTrackingController, HostTryItController],
    providers: [{ provide: HOST_SERVICES, useValue: services }],
  };
}
