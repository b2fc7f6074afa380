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
import { TRIGGER_INTAKE, type TriggerIntake } from '../runtime/trigger-intake';
import type { TriggerEvent } from '../engine/trigger-event';
import { HOST_PORTS, type HostPorts } from '../host/host.ports';
import type { PluginHandle } from './plugin-handle';
import { HookIngest } from '../ingest/hook-ingest.service';
import { EventOwnership, OwnershipCheckedIntake } from './event-ownership';

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

class GatedIntake implements TriggerIntake {
  accepting = true;
  constructor(private readonly inner: TriggerIntake) {}

  accept(event: TriggerEvent): Promise<{ enrolled: number }> {
    return this.accepting ? this.inner.accept(event) : Promise.resolve({ enrolled: 0 });
  }
}

class LoadedPlugin implements PluginHandle {
  constructor(
    readonly config: AppConfig,
    readonly intake: GatedIntake,
  ) {}

  get accepting(): boolean {
    return this.intake.accepting;
  }
}

export async function load(input: { app: INestApplicationContext; config: AppConfig }): Promise<PluginHandle> {
  const modules = input.app.get(ModuleRef);
  const intake = modules.get<TriggerIntake>(TRIGGER_INTAKE, { strict: false });
  // Always on: an event enrols only when its ListID, SubscriberID and EmailID belong to its UserID.
  const { audience } = modules.get<HostPorts>(HOST_PORTS, { strict: false });
  const handle = new LoadedPlugin(input.config, new GatedIntake(new OwnershipCheckedIntake(intake, new EventOwnership(audience))));
  // The signed HTTP ingest feeds the same handlers, so it goes through the same gate
  // (an application built without the ingest, e.g. a worker-only one, has none to wire).
  optional(() => modules.get(HookIngest, { strict: false }))?.useHandle(handle);
  return handle;
}

/** Stops taking new work: hook events enrol nobody from now on. Journeys, entries and logs stay. */
export async function disable(input: { handle: PluginHandle }): Promise<void> {
  const loaded = input.handle as LoadedPlugin;
  if (loaded.intake instanceof GatedIntake) loaded.intake.accepting = false;
}

function optional<T>(resolve: () => T): T | undefined {
  try {
    return resolve();
  } catch {
    return undefined;
  }
}
