import Redis from 'ioredis';
import { DataSource } from 'typeorm';

const TIMEOUT_MS = 5000;

/** Where a URL points, without its credentials, for error messages. */
function describe(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 'default port'}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

/** Checks that DATABASE_URL reaches PostgreSQL, so a wrong URL stops the server at once with a message naming it. */
export async function checkDatabase(url: string): Promise<void> {
  const ds = new DataSource({ type: 'postgres', url, connectTimeoutMS: TIMEOUT_MS, extra: { max: 1 } });
  try {
    await ds.initialize();
    await ds.query('SELECT 1');
  } catch (e) {
    throw new Error(`cannot use PostgreSQL at DATABASE_URL (${describe(url)}): ${(e as Error).message || String(e)}`);
  } finally {
    if (ds.isInitialized) await ds.destroy().catch(() => undefined);
  }
}

/** Checks that REDIS_URL reaches Redis. */
export async function checkRedis(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: TIMEOUT_MS, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => undefined); // reported below
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    throw new Error(`cannot use Redis at REDIS_URL (${describe(url)}): ${(e as Error).message || String(e)}`);
  } finally {
    redis.disconnect();
  }
}
