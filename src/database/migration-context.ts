import type { Sequelize } from 'sequelize';
import type { PluginTables } from './tables';

/** What every file in migrations/ receives. */
export interface MigrationContext {
  sequelize: Sequelize;
  tables: PluginTables;
}

export interface MigrationParams {
  context: MigrationContext;
}
