import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from './config/config';
import { dataSourceOptions } from './database/data-source';

/** `npm run migrate [-- --revert]`: applies pending migrations (or reverts the last one) and exits. */
async function main(): Promise<void> {
  const config = loadConfig();
  const ds = await new DataSource(dataSourceOptions(config.DATABASE_URL)).initialize();
  try {
    if (process.argv.includes('--revert')) {
      await ds.undoLastMigration({ transaction: 'each' });
      process.stdout.write('reverted the last migration\n');
    } else {
      const done = await ds.runMigrations({ transaction: 'each' });
      process.stdout.write(done.length ? done.map((m) => `applied ${m.name}`).join('\n') + '\n' : 'schema is up to date\n');
    }
  } finally {
    await ds.destroy();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`sysfleet-migrate: ${e instanceof ConfigError ? e.message : (e as Error).stack}\n`);
  process.exit(1);
});
