import path from 'node:path';
import { parseArgs } from 'node:util';
import { HYPERVISOR_TYPES, HypervisorType } from '@sysfleet/protocol';
import { isPlainObject, readJsonFile } from './fs-util';
import { LOG_LEVELS, LogLevel } from './log';

/** A bad flag, config value or command: main prints the message and exits with code 2. */
export class UsageError extends Error {}

export const CONFIG_FILE = 'agent.json';
export const DEFAULT_MAX_CONCURRENT_JOBS = 4;

export interface AgentConfig {
  server: string;
  stateDir: string;
  enrollmentToken?: string;
  simulate?: HypervisorType;
  logLevel: LogLevel;
  maxConcurrentJobs: number;
}

export type CliCommand =
  | { command: 'run'; config: AgentConfig }
  | { command: 'fingerprint'; stateDir: string }
  | { command: 'help' }
  | { command: 'version' };

/** Settings agent.json may hold: the same names as the flags, in camelCase. */
interface FileSettings {
  server?: string;
  enrollmentToken?: string;
  simulate?: string;
  logLevel?: string;
  maxConcurrentJobs?: number;
}
const FILE_KEYS: readonly (keyof FileSettings)[] = ['server', 'enrollmentToken', 'simulate', 'logLevel', 'maxConcurrentJobs'];

export const USAGE = `Usage: sysfleet-agent <command> [options]

Commands:
  run           connect to the server and carry out jobs (runs until stopped)
  fingerprint   print this host's key fingerprint (creates the key if needed)
  help          show this help
  version       print the agent version

Options:
  --server URL               server base URL, e.g. https://fleet.example.org
  --state-dir DIR            key, journal and outbox directory (default: ${defaultStateDir()})
  --enrollment-token T       token for the first enrolment
  --simulate kvm|vmm|wsl     run against the host simulator (tests and demos)
  --log-level L              debug, info, warn or error (default: info)
  --max-concurrent-jobs N    jobs run at once (default: ${DEFAULT_MAX_CONCURRENT_JOBS})
  -h, --help                 show this help
  --version                  print the agent version

Settings also come from DIR/${CONFIG_FILE} with keys server, enrollmentToken, simulate,
logLevel and maxConcurrentJobs; command-line flags win.
`;

export function defaultStateDir(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return path.join(process.env.ProgramData ?? 'C:\\ProgramData', 'sysfleet-agent');
  // /var/db is where OpenBSD keeps daemon state; /var/lib elsewhere.
  if (platform === 'openbsd') return '/var/db/sysfleet-agent';
  return '/var/lib/sysfleet-agent';
}

/** Reads DIR/agent.json; an absent file is no settings, a malformed one a UsageError naming it. */
export function loadConfigFile(stateDir: string): FileSettings {
  const file = path.join(stateDir, CONFIG_FILE);
  let raw: unknown;
  try {
    raw = readJsonFile(file);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) throw new UsageError(`${file} must hold a JSON object`);
  const unknown = Object.keys(raw).filter((k) => !(FILE_KEYS as readonly string[]).includes(k));
  if (unknown.length) throw new UsageError(`${file}: unknown setting(s) ${unknown.join(', ')} (allowed: ${FILE_KEYS.join(', ')})`);
  for (const key of ['server', 'enrollmentToken', 'simulate', 'logLevel'] as const) {
    if (raw[key] !== undefined && typeof raw[key] !== 'string') throw new UsageError(`${file}: ${key} must be a string`);
  }
  if (raw.maxConcurrentJobs !== undefined && typeof raw.maxConcurrentJobs !== 'number') {
    throw new UsageError(`${file}: maxConcurrentJobs must be a number`);
  }
  return raw as FileSettings;
}

export function parseServerUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`server "${value}" is not a URL (expected e.g. https://fleet.example.org)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`server "${value}" must start with http:// or https://`);
  // socket.io reads a URL path as the namespace, so the server must be given as its root.
  if (url.pathname !== '/' || url.search || url.hash) throw new UsageError(`server "${value}" must not have a path, query or fragment`);
  if (url.username || url.password) throw new UsageError(`server "${value}" must not contain credentials`);
  return url.origin;
}

function checkToken(value: string): string {
  if (!/^[\x21-\x7e]{16,256}$/.test(value)) throw new UsageError('enrollment token must be 16 to 256 printable characters without spaces');
  return value;
}

function checkSimulate(value: string): HypervisorType {
  if (!(HYPERVISOR_TYPES as readonly string[]).includes(value)) throw new UsageError(`simulate must be one of ${HYPERVISOR_TYPES.join(', ')}, not "${value}"`);
  return value as HypervisorType;
}

function checkLogLevel(value: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) throw new UsageError(`log level must be one of ${LOG_LEVELS.join(', ')}, not "${value}"`);
  return value as LogLevel;
}

function checkConcurrency(value: string | number): number {
  const n = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`max concurrent jobs must be a whole number from 1 to 64, not "${value}"`);
  return n;
}

/**
 * Parses the command line (without node and script) into a command. Settings for `run` are merged
 * from DIR/agent.json, flags winning. Throws UsageError with a message fit for the operator.
 */
export function parseCommandLine(argv: string[], readConfigFile: (stateDir: string) => FileSettings = loadConfigFile): CliCommand {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help' };
  if (values.version) return { command: 'version' };
  const [command, ...rest] = positionals;
  if (rest.length) throw new UsageError(`unexpected argument(s): ${rest.join(' ')}`);
  switch (command) {
    case undefined:
    case 'help':
      return { command: 'help' };
    case 'version':
      return { command: 'version' };
    case 'fingerprint':
      return { command: 'fingerprint', stateDir: path.resolve(values['state-dir'] ?? defaultStateDir()) };
    case 'run': {
      const stateDir = path.resolve(values['state-dir'] ?? defaultStateDir());
      const file = readConfigFile(stateDir);
      const server = values.server ?? file.server;
      if (!server) throw new UsageError(`no server given: pass --server URL or set "server" in ${path.join(stateDir, CONFIG_FILE)}`);
      const token = values['enrollment-token'] ?? file.enrollmentToken;
      const simulate = values.simulate ?? file.simulate;
      const logLevel = values['log-level'] ?? file.logLevel;
      const concurrency = values['max-concurrent-jobs'] ?? file.maxConcurrentJobs;
      return {
        command: 'run',
        config: {
          server: parseServerUrl(server),
          stateDir,
          enrollmentToken: token === undefined || token === '' ? undefined : checkToken(token),
          simulate: simulate === undefined ? undefined : checkSimulate(simulate),
          logLevel: logLevel === undefined ? 'info' : checkLogLevel(logLevel),
          maxConcurrentJobs: concurrency === undefined ? DEFAULT_MAX_CONCURRENT_JOBS : checkConcurrency(concurrency),
        },
      };
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function parseFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      server: { type: 'string' },
      'state-dir': { type: 'string' },
      'enrollment-token': { type: 'string' },
      simulate: { type: 'string' },
      'log-level': { type: 'string' },
      'max-concurrent-jobs': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
}
