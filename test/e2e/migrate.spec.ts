import { spawn } from 'node:child_process';
import path from 'node:path';
import { migrations } from '@sysfleet/migrations';
import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from '../support/db';
import { ROOT } from '../support/server';

/** Runs the built `apps/server/dist/migrate.js` with nothing in its environment but PATH and `env`. */
function runMigrate(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [path.join(ROOT, 'apps/server/dist/migrate.js'), ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, out })));
}

describe('npm run migrate (the built migrate script)', () => {
  let db: TestDatabase;
  let pg: Client;
  const tables = async () =>
    (await pg.query<{ t: string }>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)).rows.map((r) => r.t);
  const applied = async () => (await pg.query<{ name: string }>('SELECT name FROM migrations ORDER BY id')).rows.map((r) => r.name);

  beforeAll(async () => {
    db = await createTestDatabase('migrate');
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  });

  afterAll(async () => {
    await pg?.end();
    await db?.drop();
  });

  it('applies every migration with only DATABASE_URL set, and says so', async () => {
    const { code, out } = await runMigrate({ DATABASE_URL: db.url });
    expect(out).not.toContain('missing');
    expect(code).toBe(0);
    for (const m of migrations) expect(out).toContain(`applied ${m.name}`);
    expect(await tables()).toEqual(expect.arrayContaining(['migrations', 'users', 'sessions', 'audit_events', 'hosts', 'jobs']));
    expect(await applied()).toEqual(migrations.map((m) => m.name));

    const again = await runMigrate({ DATABASE_URL: db.url });
    expect(again).toEqual({ code: 0, out: 'schema is up to date\n' });
  });

  it('reverts only the last migration with --revert', async () => {
    const { code, out } = await runMigrate({ DATABASE_URL: db.url }, '--revert');
    expect(code).toBe(0);
    expect(out).toBe('reverted the last migration\n');
    expect(await applied()).toEqual(migrations.slice(0, -1).map((m) => m.name));
    expect(await tables()).toContain('users');

    const reapplied = await runMigrate({ DATABASE_URL: db.url });
    expect(reapplied).toEqual({ code: 0, out: `applied ${migrations[migrations.length - 1].name}\n` });
  });

  it('stops with exit code 78 and a message naming DATABASE_URL when it is missing or not a postgres URL', async () => {
    const missing = await runMigrate({});
    expect(missing.code).toBe(78);
    expect(missing.out).toMatch(/^sysfleet-migrate: DATABASE_URL is missing/);
    const bad = await runMigrate({ DATABASE_URL: 'mysql://localhost/sysfleet' });
    expect(bad.code).toBe(78);
    expect(bad.out).toBe('sysfleet-migrate: DATABASE_URL must be a postgres:// URL\n');
  });
});
