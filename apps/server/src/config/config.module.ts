import { Global, Module } from '@nestjs/common';
import { EnvironmentVariables, loadConfig } from './config';

/** Provides the validated configuration as `EnvironmentVariables`; validated once, in main.ts, before Nest boots. */
@Global()
@Module({
  providers: [{ provide: EnvironmentVariables, useFactory: () => loadConfig() }],
  exports: [EnvironmentVariables],
})
export class ConfigModule {}
