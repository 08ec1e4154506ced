import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { TEST_REDIS_URL } from './db';
import { freePort, waitFor } from './ports';

export const ROOT = path.resolve(__dirname, '../..');

export interface ServerProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  logs: () => string;
  env: Record<string, string>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the same server again (same port, database and env) after stop(). */
  restart(): Promise<ServerProcess>;
}

export interface ServerOptions {
  databaseUrl: string;
  redisPrefix: string;
  port?: number;
  adminPassword?: string;
  env?: Record<string, string>;
}

export const ADMIN_PASSWORD = 'admin-password-for-tests';
export const TEST_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';

/** Starts the built server (`apps/server/dist/main.js`) as a real process and waits for /health. */
export async function startServer(opts: ServerOptions): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort());
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    DATABASE_URL: opts.databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: opts.redisPrefix,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    SYSFLEET_SECRET: TEST_SECRET,
    SYSFLEET_ADMIN_PASSWORD: opts.adminPassword ?? ADMIN_PASSWORD,
    LOG_LEVEL: 'info',
    WEB_DIST: path.join(ROOT, 'apps/web/dist'),
    AGENT_BUNDLE: path.join(ROOT, 'apps/agent/dist/sysfleet-agent.cjs'),
    ...opts.env,
  };
  let out = '';
  const proc = spawn(process.execPath, [path.join(ROOT, 'apps/server/dist/main.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  try {
    // Fail at once when the process exits instead of waiting out the timeout.
    const died = exited.then(() => {
      throw new Error(`server exited with ${proc.exitCode ?? proc.signalCode}:\n${out.slice(-3000)}`);
    });
    died.catch(() => undefined); // the race below still sees it; later exits are expected
    await Promise.race([waitFor('server /health', async () => (await fetch(`${url}/health`).catch(() => null))?.ok, 30_000, 150), died]);
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n--- server output ---\n${out.slice(-4000)}`);
  }
  const server: ServerProcess = {
    url,
    port,
    proc,
    env,
    logs: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
    restart: () => startServer({ ...opts, port }),
  };
  return server;
}
