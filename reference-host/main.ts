/**
 * Starts the reference host with the Journeys plug-in on PORT (default 3000):
 * creates the host tables, seeds the demo data (idempotently), enables the
 * plug-in (migrations) and serves. Configuration comes from the environment
 * (see README); a bad value stops the process with a message naming it.
 */
import 'reflect-metadata';
import type { LogLevel } from '@nestjs/common';
import { ConfigError, loadConfig, type AppConfig } from '../src/config/env';
import { ManifestError } from '../src/plugin/manifest';
import { createReferenceHost } from './app';
import { PluginLoader } from './plugin-loader';
import { DEMO } from './seed';

const NEST_LEVELS: Record<string, LogLevel[] | false> = {
  fatal: ['fatal'],
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  // Nest's own start-up lines (every mapped route) only from debug on.
  info: ['fatal', 'error', 'warn'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  trace: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
  silent: false,
};

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let loader: PluginLoader;
  let config: AppConfig;
  try {
    loader = new PluginLoader();
    config = loadConfig(loader.settingsEnv(process.env));
  } catch (error) {
    if (error instanceof ConfigError || error instanceof ManifestError) fail(error.message);
    throw error;
  }

  const host = await createReferenceHost({ config, loader, logger: NEST_LEVELS[config.LOG_LEVEL] }).catch((error: Error & { parent?: { code?: string } }) => {
    const code = error.parent?.code ?? (error as { code?: string }).code;
    if (code === 'ECONNREFUSED' || code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_BAD_DB_ERROR' || code === 'ENOTFOUND') {
      fail(
        `Cannot use MySQL/MariaDB at DB_HOST=${config.DB_HOST} DB_PORT=${config.DB_PORT} DB_NAME=${config.DB_NAME} as DB_USER=${config.DB_USER}: ${error.message}`,
      );
    }
    throw error;
  });
  await host.app.listen(config.PORT).catch((error: Error & { code?: string }) => {
    if (error.code === 'EADDRINUSE' || error.code === 'EACCES') fail(`Cannot listen on PORT=${config.PORT} (${error.code}); set PORT to a free port`);
    throw error;
  });
  const url = `http://localhost:${config.PORT}/`;
  process.stdout.write(
    [
      '',
      `Reference host with the Journeys plug-in is running: ${url}`,
      `  Log in as "${DEMO.userA.firstName} ${DEMO.userA.lastName}" (${DEMO.userA.emailAddress}), then open Campaigns → Journeys (${url}journeys).`,
      `  Database ${config.DB_NAME} on ${config.DB_HOST}:${config.DB_PORT}, table prefix "${config.DB_TABLE_PREFIX}"; Redis ${config.REDIS_HOST}:${config.REDIS_PORT}, queue prefix "${config.QUEUE_PREFIX}".`,
      '  Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
  const stop = async () => {
    await host.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error) => {
  process.stderr.write(`Reference host failed to start: ${error?.stack ?? error}\n`);
  process.exit(1);
});
