import { DataSourceOptions } from 'typeorm';
import { migrations } from '@sysfleet/migrations';

/** The one place the TypeORM connection is described: schema from migrations only, never synchronize. */
export function dataSourceOptions(databaseUrl: string, poolSize = 20): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    migrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    extra: { max: poolSize },
  };
}
