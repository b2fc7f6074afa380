/**
 * A process that runs only the worker side of the plug-in: the entry queue's
 * processor and the sweeper, no HTTP. Start as many as you like against the
 * same MySQL and Redis:
 *
 *   ROLE=worker node dist/src/worker.main.js
 *   ROLE=worker node -r @swc-node/register src/worker.main.ts   (from the sources)
 *
 * Host ports: by default the HTTP host adapter (src/host/http): subscriber
 * reads and custom field writes on the host's MySQL schema, Subscribe,
 * Unsubscribe and Send Email through the host's HTTP host API at HOST_API_URL
 * (the reference host's own address unless set). JOURNEYS_HOST_PORTS may name
 * a module exporting `createHostPorts(config, sequelize)` instead (a Node
 * host's own ports).
 */
import 'reflect-metadata';
import * as path from 'path';
import { NestFactory } from '@nestjs/core';
import type { Sequelize } from 'sequelize';
import { loadConfig, type AppConfig } from './config/env';
import { createSequelize } from './database/database';
import type { HostPorts } from './host/host.ports';
import { httpHostPorts } from './host/http/http-host-ports';
import { JourneysModule } from './journeys.module';
import { JsonLogger } from './ops/json-logger';

export async function startWorker(env: NodeJS.ProcessEnv = process.env): Promise<{ close(): Promise<void> }> {
  const config = loadConfig({ ...env, ROLE: env.ROLE === 'all' ? 'all' : 'worker' });
  const hostSequelize = createSequelize(config);
  let host: HostPorts & { close?(): void };
  if (env.JOURNEYS_HOST_PORTS) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module is named at run time
    const mod = require(path.resolve(env.JOURNEYS_HOST_PORTS)) as { createHostPorts(config: AppConfig, sequelize: Sequelize): HostPorts | Promise<HostPorts> };
    host = await mod.createHostPorts(config, hostSequelize);
  } else {
    host = httpHostPorts(config, hostSequelize);
  }
  // A production process: one JSON object per log line (DESIGN §8), at LOG_LEVEL.
  const app = await NestFactory.createApplicationContext(JourneysModule.forRoot({ config, host }), { logger: new JsonLogger(config.LOG_LEVEL) });
  await app.init();
  return {
    async close() {
      await app.close();
      host.close?.();
      await hostSequelize.close();
    },
  };
}

if (require.main === module) {
  startWorker()
    .then((worker) => {
      const stop = () => {
        worker.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      process.send?.('ready');
    })
    .catch((error: Error) => {
      console.error(error.message);
      process.exit(1);
    });
}
