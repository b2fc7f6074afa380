/**
 * Where the plug-in's views/ and public/ folders are, whether it runs from
 * TypeScript sources (src/planner) or from the build (dist/src/planner).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findPluginRoot(start: string): string {
  let dir = start;
  while (true) {
    if (existsSync(join(dir, 'plugin.json')) && existsSync(join(dir, 'views'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`Journeys: no plugin.json with a views/ folder above ${start}`);
    dir = parent;
  }
}

const root = findPluginRoot(__dirname);

export const pluginFiles = {
  root,
  views: join(root, 'views'),
  public: join(root, 'public'),
};
