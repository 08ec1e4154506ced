import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import cookieParser from 'cookie-parser';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { RedisIoAdapter } from './agent-gateway/redis-io.adapter';
import { securityHeaders, serveAgentBundle, serveWebUi, trustProxySetting } from './common/http-setup';
import { setupOpenApi } from './common/openapi';
import { checkDatabase, checkRedis } from './common/preflight';
import { ConfigError, EnvironmentVariables, loadConfig } from './config/config';

function fail(message: string, code: number): never {
  process.stderr.write(`sysfleet-server: ${message}\n`);
  process.exit(code);
}

function serverVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(__dirname, '../package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function bootstrap(): Promise<void> {
  // Validate before Nest starts so a bad variable stops the server with one clear message.
  let config: EnvironmentVariables;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message, 78);
    throw e;
  }
  // Nest would retry an unreachable database for half a minute and then say little; check first.
  try {
    await checkDatabase(config.DATABASE_URL);
    await checkRedis(config.REDIS_URL);
  } catch (e) {
    fail((e as Error).message, 69);
  }

  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    bufferLogs: true,
    bodyParser: true,
    abortOnError: false,
    // Keep-alive connections would otherwise hold a SIGTERM shutdown open.
    forceCloseConnections: true,
  });
  app.useLogger(app.get(Logger));
  app.set('trust proxy', trustProxySetting(config.TRUST_PROXY));
  app.disable('x-powered-by');
  app.useBodyParser('json', { limit: '1mb' });
  app.use(securityHeaders);
  app.use(cookieParser());
  serveAgentBundle(app, config.AGENT_BUNDLE);
  const logger = app.get(Logger);
  if (!serveWebUi(app, config.WEB_DIST)) logger.warn(`No web UI at WEB_DIST (${config.WEB_DIST ?? 'unset'}): serving the API only`, 'Bootstrap');
  setupOpenApi(app, serverVersion());
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  app.useWebSocketAdapter(await RedisIoAdapter.create(app));
  // Nest hands its arguments on to http.Server.listen(port, host, backlog); its type only lists a callback.
  const listen = app.listen.bind(app) as unknown as (port: number, host: string, backlog: number) => Promise<unknown>;
  await listen(config.PORT, config.HOST, config.LISTEN_BACKLOG);
  logger.log(`Sysfleet server listening on ${config.PUBLIC_URL} (API docs at /api/docs)`, 'Bootstrap');
}

bootstrap().catch((e: unknown) => fail(`failed to start: ${e instanceof Error ? e.stack ?? e.message : String(e)}`, 1));
