import type { MigrationInterface } from 'typeorm';

/**
 * Every migration, in order. A new migration is a class in this folder named
 * `<timestamp>-<what>.ts` and appended here; the server and `npm run migrate` apply them.
 */
export const migrations: (new () => MigrationInterface)[] = [];
