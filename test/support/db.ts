import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';

/** Base URL of the PostgreSQL server the tests may create databases on. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database of its own for one test file, so runs never see each other's data. */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const name = `sysfleet_${label.replace(/[^a-z0-9]/gi, '').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A unique Redis key prefix for one test file (queues, nonces, adapters). */
export function uniqueRedisPrefix(label = 't'): string {
  return `sft-${label}-${randomBytes(4).toString('hex')}`;
}

/** An approved host row with a key of its own and nothing else, for tests of tables that refer to hosts; its id. */
export async function insertApprovedHost(db: { query(sql: string, params: unknown[]): Promise<{ id: string }[]> }): Promise<string> {
  const [row] = await db.query(
    `INSERT INTO hosts ("publicKey", fingerprint, status, hostname, platform) VALUES ('k', $1, 'approved', 'h', 'linux') RETURNING id`,
    [`SHA256:${randomUUID()}`],
  );
  return row.id;
}
