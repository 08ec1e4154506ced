import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { DataSource } from 'typeorm';
import { ConfigError, EnvironmentVariables } from './config/config';
import { dataSourceOptions } from './database/data-source';

/** Migrations need the database and nothing else: DATABASE_URL checked by the server's own rule for it. */
function databaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const value = env.DATABASE_URL;
  if (!value) throw new ConfigError('DATABASE_URL is missing (e.g. postgres://postgres@127.0.0.1:5432/sysfleet)');
  const errors = validateSync(plainToInstance(EnvironmentVariables, { DATABASE_URL: value })).filter((e) => e.property === 'DATABASE_URL');
  if (errors.length > 0) throw new ConfigError(`DATABASE_URL ${Object.values(errors[0].constraints ?? {}).join(', ')}`);
  return value;
}

/** `npm run migrate [-- --revert]`: applies pending migrations (or reverts the last one) and exits. */
async function main(): Promise<void> {
  const ds = await new DataSource(dataSourceOptions(databaseUrl())).initialize();
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
  // Same exit code as the server for a bad setting (EX_CONFIG).
  if (e instanceof ConfigError) {
    process.stderr.write(`sysfleet-migrate: ${e.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`sysfleet-migrate: ${(e as Error).stack}\n`);
  process.exit(1);
});
