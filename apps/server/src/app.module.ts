import { Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AllExceptionsFilter } from './common/exception.filter';
import { ConfigModule } from './config/config.module';
import { EnvironmentVariables } from './config/config';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { UsersModule } from './users/users.module';
import { MetricsModule } from './health/metrics';
import { createValidationPipe } from './common/validation';
import { HostsModule } from './hosts/hosts.module';
import { EnrollmentModule } from './enrollment/enrollment.module';
import { AgentGatewayModule } from './agent-gateway/agent-gateway.module';
import { UiGatewayModule } from './ui-gateway/ui-gateway.module';
import { CommonModule } from './common/common.module';
import { JobsModule } from './jobs/jobs.module';
import { VirtualizationModule } from './virtualization/virtualization.module';
import { DistributionsModule } from './distributions/distributions.module';
import { SshKeysModule } from './ssh-keys/ssh-keys.module';
import { ChildHostsModule } from './child-hosts/child-hosts.module';

@Module({
  imports: [
    ConfigModule,
    LoggerModule.forRootAsync({
      inject: [EnvironmentVariables],
      useFactory: (c: EnvironmentVariables) => ({
        pinoHttp: { level: c.LOG_LEVEL, autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/metrics' }, redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-csrf-token"]', 'res.headers["set-cookie"]'] },
      }),
    }),
    DatabaseModule,
    CommonModule,
    AuditModule,
    HealthModule,
    MetricsModule,
    UsersModule,
    AuthModule,
    HostsModule,
    EnrollmentModule,
    AgentGatewayModule,
    UiGatewayModule,
    JobsModule,
    VirtualizationModule,
    DistributionsModule,
    SshKeysModule,
    ChildHostsModule,
  ],
  providers: [
    { provide: APP_FILTER, useClass: AllExceptionsFilter },
    { provide: APP_PIPE, useFactory: createValidationPipe },
  ],
})
export class AppModule {}
