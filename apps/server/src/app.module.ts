import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AllExceptionsFilter } from './common/exception.filter';
import { ConfigModule } from './config/config.module';
import { EnvironmentVariables } from './config/config';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { AuditModule } from './audit/audit.module';

@Module({
  imports: [
    ConfigModule,
    LoggerModule.forRootAsync({
      inject: [EnvironmentVariables],
      useFactory: (c: EnvironmentVariables) => ({
        pinoHttp: { level: c.LOG_LEVEL, autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/metrics' }, redact: ['req.headers.authorization', 'req.headers.cookie'] },
      }),
    }),
    DatabaseModule,
    AuditModule,
    HealthModule,
  ],
  providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
})
export class AppModule {}
