import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EnvironmentVariables } from '../config/config';
import { dataSourceOptions } from './data-source';
import { RedisModule } from './redis';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [EnvironmentVariables],
      useFactory: (c: EnvironmentVariables) => ({ ...dataSourceOptions(c.DATABASE_URL, c.DB_POOL_SIZE), autoLoadEntities: true, migrationsRun: true }),
    }),
    RedisModule,
  ],
  exports: [RedisModule],
})
export class DatabaseModule {}
