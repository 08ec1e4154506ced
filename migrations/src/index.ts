import type { MigrationInterface } from 'typeorm';
import { Audit1764000000000 } from './1764000000000-audit';
import { Users1764000000001 } from './1764000000001-users';
import { Hosts1764000000002 } from './1764000000002-hosts';
import { Jobs1764000000003 } from './1764000000003-jobs';
import { Virtualization1764000000004 } from './1764000000004-virtualization';
import { Distributions1764000000005 } from './1764000000005-distributions';
import { Children1764000000006 } from './1764000000006-children';
import { Firmware1764000000007 } from './1764000000007-firmware';
import { HostsHotPresence1764000000008 } from './1764000000008-hosts-hot-presence';

/**
 * Every migration, in order. A new migration is a class in this folder named
 * `<timestamp>-<what>.ts` and appended here; the server and `npm run migrate` apply them.
 */
export const migrations: (new () => MigrationInterface)[] = [Audit1764000000000, Users1764000000001, Hosts1764000000002, Jobs1764000000003, Virtualization1764000000004, Distributions1764000000005, Children1764000000006, Firmware1764000000007,
  HostsHotPresence1764000000008];
