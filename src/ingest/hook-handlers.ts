/**
 * The hook handlers of the manifest (plugin.json `hooks`: hook name → module
 * in hooks/), loaded the way the host loads them, so both transports run the
 * same code.
 */
import * as path from 'path';
import { findManifestDir, loadManifest, requireFromCodeRoot } from '../plugin/manifest';
import type { PluginHandle } from '../plugin/plugin-handle';

export type HookHandlerFn = (payload: unknown, plugin: PluginHandle) => Promise<unknown>;

/** The repository when running TypeScript, dist/ when running the build (this file is src/ingest/ in both). */
export const CODE_ROOT = path.resolve(__dirname, '..', '..');

export function loadHookHandlers(codeRoot: string = CODE_ROOT): Map<string, HookHandlerFn> {
  const manifest = loadManifest(findManifestDir(codeRoot));
  return new Map(
    Object.entries(manifest.hooks).map(([hookName, modulePath]) => [hookName, requireFromCodeRoot<HookHandlerFn>(codeRoot, modulePath, 'default')]),
  );
}
