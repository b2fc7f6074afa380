/**
 * Every migration in migrations/ runs up, down and up again on real MariaDB,
 * and the enable lifecycle hook runs them (idempotently) through plugin.json.
 */
import { QueryTypes } from 'sequelize';
import { createMigrator } from '../src/database/migrator';
import { pluginTables } from '../src/database/tables';
import { enable } from '../src/plugin/lifecycle';
import { createHostSandbox, type HostSandbox } from './support/host-sandbox';

describe('plug-in migrations', () => {
  let box: HostSandbox;

  beforeAll(async () => {
    box = await createHostSandbox({ schema: false });
  });
  afterAll(async () => {
    await box?.stop();
  });

  const tablesOfPrefix = async () =>
    (
      await box.sequelize.query<{ Name: string }>(
        `SELECT TABLE_NAME AS Name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ? ORDER BY TABLE_NAME`,
        { type: QueryTypes.SELECT, replacements: [`${box.prefix.replace(/_/g, '\\_')}%`] },
      )
    ).map((r) => r.Name);

  it('runs every migration up, down and up again, leaving only the migration table after down', async () => {
    const tables = pluginTables(box.prefix);
    const owned = [tables.journeys, tables.triggers, tables.entries, tables.log, tables.events, tables.webhookDeliveries, tables.subscriberEvents].sort();
    const migrator = createMigrator(box.sequelize, box.prefix);
    const all = (await migrator.pending()).map((m) => m.name);
    expect(all.length).toBeGreaterThanOrEqual(3);

    expect((await migrator.up()).map((m) => m.name)).toEqual(all);
    expect(await tablesOfPrefix()).toEqual([...owned, tables.migrations].sort());
    expect(await migrator.pending()).toEqual([]);

    expect((await migrator.down({ to: 0 })).map((m) => m.name)).toEqual([...all].reverse());
    expect(await tablesOfPrefix()).toEqual([tables.migrations]);
    expect((await migrator.executed()).length).toBe(0);

    expect((await migrator.up()).map((m) => m.name)).toEqual(all);
    expect(await tablesOfPrefix()).toEqual([...owned, tables.migrations].sort());
  });

  it('the tables take rows after the round trip (columns and keys came back)', async () => {
    const tables = pluginTables(box.prefix);
    await box.sequelize.query(
      `INSERT INTO \`${tables.journeys}\` (RelOwnerUserID, Name, TriggerType, TriggerSettings, Actions, WebhookSecret, CreatedAt, UpdatedAt) VALUES (1, 'J', 'manual', '{}', '[]', 's', NOW(3), NOW(3))`,
    );
    await box.sequelize.query(
      `INSERT INTO \`${tables.entries}\` (JourneyID, RelOwnerUserID, ListID, SubscriberID, JourneyVersion, ChainID, CreatedAt, UpdatedAt) VALUES (1, 1, 1, 1, 1, 'c', NOW(3), NOW(3))`,
    );
    // at most one live entry per journey and subscriber
    await expect(
      box.sequelize.query(
        `INSERT INTO \`${tables.entries}\` (JourneyID, RelOwnerUserID, ListID, SubscriberID, JourneyVersion, ChainID, CreatedAt, UpdatedAt) VALUES (1, 1, 1, 1, 1, 'c', NOW(3), NOW(3))`,
      ),
    ).rejects.toMatchObject({ name: 'SequelizeUniqueConstraintError' });
  });

  it('enable runs pending migrations and is a no-op when up to date', async () => {
    const fresh = await createHostSandbox({ schema: false });
    try {
      const first = await enable({ config: fresh.config });
      expect(first.migrated.length).toBeGreaterThanOrEqual(3);
      expect(await enable({ config: fresh.config })).toEqual({ migrated: [] });
      const [row] = await fresh.sequelize.query<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${pluginTables(fresh.prefix).migrations}\``, {
        type: QueryTypes.SELECT,
      });
      expect(Number(row.n)).toBe(first.migrated.length);
    } finally {
      await fresh.stop();
    }
  });
});
