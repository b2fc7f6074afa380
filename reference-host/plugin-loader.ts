/**
 * Loads a plug-in the way the host does: only through its plugin.json.
 * validate manifest → enable (migrations) → import the entry module →
 * (host builds its app with the module) → load → register hooks and menu.
 */
import * as path from 'path';
import type { DynamicModule, INestApplicationContext } from '@nestjs/common';
import type { AppConfig } from '../src/config/env';
import type { Clock } from '../src/core/tokens';
import type { HostPorts, MenuEntry } from '../src/host/host.ports';
import { findManifestDir, loadManifest, requireFromCodeRoot, type ExportRef, type PluginManifest } from '../src/plugin/manifest';

type HookHandlerModule = (payload: unknown, plugin: unknown) => Promise<unknown>;

interface EntryModule {
  forRoot(options: { config: AppConfig; host: HostPorts; clock?: Clock }): DynamicModule;
}

export interface LoadedPlugin {
  manifest: PluginManifest;
  /** What `load` returned; passed to every hook handler. */
  handle: unknown;
  disable(): Promise<void>;
}

export class PluginLoader {
  readonly manifest: PluginManifest;

  /**
   * @param codeRoot where the manifest's module paths resolve: the repository
   *   when running TypeScript, dist/ when running the compiled build.
   */
  constructor(
    readonly codeRoot: string = path.resolve(__dirname, '..'),
    manifestDir: string = findManifestDir(codeRoot),
  ) {
    this.manifest = loadManifest(manifestDir);
  }

  private lifecycle<T>(ref: ExportRef): T {
    return requireFromCodeRoot<T>(this.codeRoot, ref.module, ref.export);
  }

  /** Settings defaults of the manifest, overridden by the environment. */
  settingsEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const defaults = Object.fromEntries(Object.entries(this.manifest.settings).map(([key, s]) => [key, String(s.default)]));
    return { ...defaults, ...env };
  }

  async enable(config: AppConfig): Promise<void> {
    await this.lifecycle<(input: { config: AppConfig }) => Promise<unknown>>(this.manifest.lifecycle.enable)({ config });
  }

  entryModule(options: { config: AppConfig; host: HostPorts; clock?: Clock }): DynamicModule {
    return this.lifecycle<EntryModule>(this.manifest.entry).forRoot(options);
  }

  /** After the host app is initialised: load, then hooks and menu entries. */
  async load(
    app: INestApplicationContext,
    config: AppConfig,
    host: { hooks: HostPorts['hooks']; addMenuEntries(entries: MenuEntry[]): void },
  ): Promise<LoadedPlugin> {
    const handle = await this.lifecycle<(input: { app: INestApplicationContext; config: AppConfig }) => Promise<unknown>>(this.manifest.lifecycle.load)({
      app,
      config,
    });
    for (const [hookName, handlerPath] of Object.entries(this.manifest.hooks)) {
      const handler = requireFromCodeRoot<HookHandlerModule>(this.codeRoot, handlerPath, 'default');
      // The handler's result (e.g. `{ enrolled }`) is handed back to the bus, which reports it to HostHookBus.collect().
      host.hooks.on(hookName, async (payload) => (await handler(payload, handle)) as void);
    }
    host.addMenuEntries(this.manifest.menu);
    const disable = this.lifecycle<(input: { handle: unknown }) => Promise<void>>(this.manifest.lifecycle.disable);
    return { manifest: this.manifest, handle, disable: () => disable({ handle }) };
  }
}
