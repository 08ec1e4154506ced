import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { ConfigError, EnvironmentVariables, loadConfig } from './config/config';

async function bootstrap(): Promise<void> {
  // Validate before Nest starts so a bad variable stops the server with one clear message.
  let config: EnvironmentVariables;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`sysfleet-server: ${e.message}\n`);
      process.exit(78);
    }
    throw e;
  }
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  await app.listen(config.PORT, config.HOST);
  app.get(Logger).log(`Sysfleet server listening on ${config.PUBLIC_URL}`, 'Bootstrap');
}

void bootstrap();
