import { DataSource, DataSourceOptions } from 'typeorm';
import { dataSourceOptions } from '../../apps/server/src/database/data-source';

/** The server's data source settings on `url`, for `entities`, with every migration applied. */
export async function migratedDataSource(url: string, entities: DataSourceOptions['entities'], poolSize?: number): Promise<DataSource> {
  const ds = await new DataSource({ ...dataSourceOptions(url, poolSize), entities }).initialize();
  await ds.runMigrations({ transaction: 'each' });
  return ds;
}
