import type { MigrationInterface } from 'typeorm';
import { Audit1764000000000 } from './1764000000000-audit';

/**
 * Every migration, in order. A new migration is a class in this folder named
 * `<timestamp>-<what>.ts` and appended here; the server and `npm run migrate` apply them.
 */
export const migrations: (new () => MigrationInterface)[] = [Audit1764000000000];
