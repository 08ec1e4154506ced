import 'reflect-metadata';
import { migrations } from '@sysfleet/migrations';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../apps/server/src/database/data-source';
import { createTestDatabase, TestDatabase } from '../support/db';

/** What a migration can change: tables and their columns, indexes, constraints, enum types, and row counts (seed data). */
async function snapshot(ds: DataSource): Promise<Record<string, unknown>> {
  const columns: { table_name: string; column_name: string; data_type: string; is_nullable: string; column_default: string | null }[] = await ds.query(
    `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name <> 'migrations' ORDER BY table_name, column_name`,
  );
  const tables: Record<string, { columns: string[]; rows: number }> = {};
  for (const c of columns) {
    tables[c.table_name] ??= { columns: [], rows: 0 };
    tables[c.table_name].columns.push(`${c.column_name} ${c.data_type} ${c.is_nullable} ${c.column_default ?? ''}`);
  }
  for (const name of Object.keys(tables)) {
    tables[name].rows = Number((await ds.query(`SELECT count(*)::int AS n FROM "${name}"`))[0].n);
  }
  const indexes = (await ds.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'migrations' ORDER BY indexdef`)).map(
    (r: { indexdef: string }) => r.indexdef,
  );
  const constraints = (
    await ds.query(
      `SELECT conrelid::regclass::text AS t, pg_get_constraintdef(oid) AS def FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> 'migrations' ORDER BY 1, 2`,
    )
  ).map((r: { t: string; def: string }) => `${r.t}: ${r.def}`);
  const types = (await ds.query(`SELECT typname FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'd') ORDER BY 1`)).map(
    (r: { typname: string }) => r.typname,
  );
  return { tables, indexes, constraints, types };
}

/** Every migration in @sysfleet/migrations, one at a time: each up changes the database, each down restores exactly what was before it. */
describe('migrations', () => {
  let db: TestDatabase;
  const sources: DataSource[] = [];
  // A data source that knows the first n migrations, so they can be applied one by one.
  const withFirst = async (n: number) => {
    const ds = await new DataSource({ ...dataSourceOptions(db.url), migrations: migrations.slice(0, n) }).initialize();
    sources.push(ds);
    return ds;
  };

  beforeAll(async () => {
    db = await createTestDatabase('migrations');
  });

  afterAll(async () => {
    for (const ds of sources) if (ds.isInitialized) await ds.destroy();
    await db?.drop();
  });

  it('applies every migration up, reverts every one down, and applies them again to the same schema', async () => {
    expect(migrations.length).toBeGreaterThan(0);
    const empty = await snapshot(await withFirst(0));
    expect(empty.tables).toEqual({});

    // Up, one at a time: each must change something.
    const states = [empty];
    for (let i = 1; i <= migrations.length; i++) {
      const ds = await withFirst(i);
      const ran = await ds.runMigrations({ transaction: 'each' });
      expect(ran.map((m) => m.name)).toEqual([new migrations[i - 1]().name ?? migrations[i - 1].name]);
      const state = await snapshot(ds);
      expect({ migration: migrations[i - 1].name, state }).not.toEqual({ migration: migrations[i - 1].name, state: states[i - 1] });
      states.push(state);
    }
    const full = states[migrations.length] as { tables: Record<string, unknown> };
    for (const table of ['audit_events', 'users', 'sessions']) expect(Object.keys(full.tables)).toContain(table);

    // Down, newest first: each must restore the state before it.
    const all = sources[sources.length - 1];
    for (let i = migrations.length; i >= 1; i--) {
      await all.undoLastMigration({ transaction: 'each' });
      expect({ reverted: migrations[i - 1].name, state: await snapshot(all) }).toEqual({ reverted: migrations[i - 1].name, state: states[i - 1] });
    }
    expect((await snapshot(all)).tables).toEqual({});
    expect(await all.query(`SELECT count(*)::int AS n FROM migrations`)).toEqual([{ n: 0 }]);

    // And up again, all at once.
    await all.runMigrations({ transaction: 'each' });
    expect(await snapshot(all)).toEqual(full);
  });
});
