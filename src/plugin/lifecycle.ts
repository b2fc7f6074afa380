/**
 * The plug-in's lifecycle functions, named in plugin.json:
 * - enable: runs the migrations (creates or upgrades the plug-in's tables);
 * - load: called once the host application is up; returns the handle the hook handlers get;
 * - disable: stops taking new work and keeps every row.
 */
import type { INestApplicationContext } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { AppConfig } from '../config/env';
import { createSequelize } from '../database/database';
import { createMigrator } from '../database/migrator';
import { HOST_PORTS, type HostPorts } from '../host/host.ports';
import { TRIGGER_INTAKE, type TriggerIntake } from '../runtime/trigger-intake';
import type { PluginHandle } from './plugin-handle';
import { PluginIntake } from './plugin-intake';

export interface EnableResult {
  /** Names of the migrations this call ran (empty when already up to date). */
  migrated: string[];
}

export async function enable(input: { config: AppConfig }): Promise<EnableResult> {
  const sequelize = createSequelize({ ...input.config, DB_POOL_MAX: 1 });
  try {
    const ran = await createMigrator(sequelize, input.config.DB_TABLE_PREFIX).up();
    return { migrated: ran.map((m) => m.name) };
  } finally {
    await sequelize.close();
  }
}

export async function load(input: { app: INestApplicationContext; config: AppConfig }): Promise<PluginHandle> {
  const modules = input.app.get(ModuleRef);
  // The application's own PluginIntake (the signed ingest uses the same one); an application built without
  // the ingest module (a host wiring only the runtime) gets one here.
  const intake =
    optional(() => modules.get(PluginIntake, { strict: false })) ??
    new PluginIntake(modules.get<TriggerIntake>(TRIGGER_INTAKE, { strict: false }), modules.get<HostPorts>(HOST_PORTS, { strict: false }));
  return intake.handle(input.config);
}

/** Stops taking new work: hook events enrol nobody from now on. Journeys, entries and logs stay. */
export async function disable(input: { handle: PluginHandle }): Promise<void> {
  if (input.handle.intake instanceof PluginIntake) input.handle.intake.close();
}

function optional<T>(resolve: () => T): T | undefined {
  try {
    return resolve();
  } catch {
    return undefined;
  }
}
