/**
 * Runs the files in migrations/ with umzug. Used by the enable lifecycle hook;
 * the plug-in never calls sync().
 */
import * as path from 'path';
import { type Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';
import type { MigrationContext } from './migration-context';
import { pluginTables } from './tables';

/** migrations/ next to src/, both in the repository and in dist/. */
export const MIGRATIONS_DIR = path.resolve(__dirname, '../../migrations');

export function createMigrator(sequelize: Sequelize, hostPrefix: string): Umzug<MigrationContext> {
  const tables = pluginTables(hostPrefix);
  return new Umzug<MigrationContext>({
    migrations: {
      glob: ['*.{js,ts}', { cwd: MIGRATIONS_DIR, ignore: ['*.d.ts', '*.spec.ts'] }],
      resolve: ({ name, path: file, context }) => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const migration = require(file!);
        return { name: name.replace(/\.(js|ts)$/, ''), up: () => migration.up({ context }), down: () => migration.down({ context }) };
      },
    },
    context: { sequelize, tables },
    storage: new SequelizeStorage({ sequelize, tableName: tables.migrations }),
    logger: undefined,
  });
}
