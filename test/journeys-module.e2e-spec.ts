/**
 * JourneysModule as a Node host imports it: forRootAsync with a factory that
 * reads the host's own configuration, against real MariaDB and Redis.
 */
import 'reflect-metadata';
import { randomBytes } from 'crypto';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig, type AppConfig } from '../src/config/env';
import { PLUGIN_CONFIG } from '../src/core/tokens';
import { createSequelize } from '../src/database/database';
import { JourneysModule } from '../src/journeys.module';
import { JourneysService } from '../src/journeys/journeys.service';
import { RuntimeHealth } from '../src/runtime/runtime.health';
import { mysqlWorkerPorts } from '../src/host/mysql/mysql-worker-ports';

@Injectable()
class HostSettings {
  readonly config: AppConfig = loadConfig({ ...process.env, ROLE: 'web', QUEUE_PREFIX: `tm${randomBytes(4).toString('hex')}` });
}

@Module({ providers: [HostSettings], exports: [HostSettings] })
class HostSettingsModule {}

describe(JourneysModule.name, () => {
  it("forRootAsync builds the plug-in from the host's own providers and reaches MySQL and Redis", async () => {
    const hostSequelize = createSequelize(loadConfig());
    @Module({
      imports: [
        JourneysModule.forRootAsync({
          imports: [HostSettingsModule],
          inject: [HostSettings],
          useFactory: (settings: HostSettings) => ({ config: settings.config, host: mysqlWorkerPorts(settings.config, hostSequelize) }),
        }),
      ],
    })
    class NodeHost {}

    const app = await NestFactory.createApplicationContext(NodeHost, { logger: false });
    try {
      expect(app.get<AppConfig>(PLUGIN_CONFIG).ROLE).toBe('web');
      expect(app.get(JourneysService)).toBeInstanceOf(JourneysService);
      const health = await app.get(RuntimeHealth).check();
      expect(health).toMatchObject({ status: 'up', mysql: { status: 'up' }, redis: { status: 'up' } });
    } finally {
      await app.close();
      await hostSequelize.close();
    }
  });
});
