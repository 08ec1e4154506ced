import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength, validateSync } from 'class-validator';

/**
 * Every setting the server reads from its environment, validated once at boot.
 * Property names are the environment variable names so errors name the variable.
 */
export class EnvironmentVariables {
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgres:// URL' })
  DATABASE_URL!: string;

  @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// URL' })
  REDIS_URL!: string;

  @IsInt() @Min(1) @Max(65535)
  PORT = 3000;

  @IsString() @IsOptional()
  HOST = '0.0.0.0';

  /** Prefix of every Redis key, queue and channel this deployment uses (lets deployments or test runs share one Redis). */
  @Matches(/^[a-zA-Z0-9_-]{1,40}$/, { message: 'must be 1-40 letters, digits, _ or -' })
  REDIS_PREFIX = 'sysfleet';

  /** The URL agents and browsers use to reach this server. */
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  PUBLIC_URL!: string;

  /** Signs session cookies and CSRF tokens and encrypts secrets at rest. */
  @IsString() @MinLength(32, { message: 'must be at least 32 characters' })
  SYSFLEET_SECRET!: string;

  @IsString() @IsOptional() @MinLength(12, { message: 'must be at least 12 characters' })
  SYSFLEET_ADMIN_PASSWORD?: string;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** Directory of the built web UI; served at /. */
  @IsString() @IsOptional()
  WEB_DIST?: string;

  /** Path of the built agent bundle; served at /agent/sysfleet-agent.cjs. */
  @IsString() @IsOptional()
  AGENT_BUNDLE?: string;

  /** Jobs one host carries out at once; more wait in the queue. */
  @IsInt() @Min(1) @Max(64)
  JOB_HOST_CONCURRENCY = 4;

  /** How long the server waits for an agent to acknowledge a command. */
  @IsInt() @Min(100) @Max(120000)
  JOB_ACK_TIMEOUT_MS = 10000;

  /** How often an undelivered or silent job is looked at again (re-sent to its agent). */
  @IsInt() @Min(1) @Max(3600)
  JOB_REDELIVER_SECONDS = 60;

  /** How often open jobs are re-enqueued from Postgres (covers a Redis that lost its data). */
  @IsInt() @Min(1) @Max(3600)
  JOB_RECONCILE_SECONDS = 30;

  /** Delivery attempts one server process runs at once; 0 runs no delivery worker in this process (another replica must). */
  @IsInt() @Min(0) @Max(10000)
  JOB_WORKER_CONCURRENCY = 50;

  /** Per-type deadlines for offline hosts, `type=seconds` separated by commas (e.g. `inventory.refresh=300`). */
  @IsString() @IsOptional() @Matches(/^([a-z.-]+=\d+)?(,[a-z.-]+=\d+)*$/, { message: 'must be type=seconds pairs separated by commas' })
  JOB_DEADLINES?: string;

  /** Comma-separated origins allowed on the /ui socket, the web UI's live channel (PUBLIC_URL is always allowed). */
  @IsString() @IsOptional()
  ALLOWED_ORIGINS?: string;

  /** Operator sessions end after this many hours without a request (sliding). */
  @IsInt() @Min(1) @Max(720)
  SESSION_TTL_HOURS = 12;

  /** Failed logins allowed per username, and per source IP, within LOGIN_FAILURE_WINDOW_SECONDS before 429. */
  @IsInt() @Min(1) @Max(10000)
  LOGIN_MAX_FAILURES_PER_USER = 10;

  @IsInt() @Min(1) @Max(10000)
  LOGIN_MAX_FAILURES_PER_IP = 50;

  @IsInt() @Min(10) @Max(86400)
  LOGIN_FAILURE_WINDOW_SECONDS = 300;

  /** Express `trust proxy`: false (default: use the socket address), true, a hop count, or comma-separated addresses/subnets of your proxies. */
  @Matches(/^(true|false|\d{1,2}|(loopback|linklocal|uniquelocal|[0-9a-fA-F.:/]+)(\s*,\s*(loopback|linklocal|uniquelocal|[0-9a-fA-F.:/]+))*)$/, {
    message: 'must be true, false, a hop count, or comma-separated proxy addresses/subnets',
  })
  TRUST_PROXY = 'false';

  /** Postgres connections one server process may open (each replica has its own pool; mind max_connections). */
  @IsInt() @Min(1) @Max(1000)
  DB_POOL_SIZE = 50;

  /** Memory (MB) a host keeps free for itself: a child VM that would leave less is refused. */
  @IsInt() @Min(0) @Max(1048576)
  CHILD_RESERVE_MEMORY_MB = 1024;

  /**
   * Connections the kernel may hold waiting for the server to accept them (capped by net.core.somaxconn).
   * Node's default of 511 overflows when a fleet reconnects at once; a dropped SYN costs the agent 1-7 s.
   */
  @IsInt() @Min(1) @Max(65535)
  LISTEN_BACKLOG = 4096;

  /** socket.io ping interval of agent and browser connections; a peer silent for interval + timeout is disconnected (and its host marked offline). */
  @IsInt() @Min(500) @Max(300000)
  SOCKET_PING_INTERVAL_MS = 25000;

  /** How long after a ping the answer may take before the connection is dropped. */
  @IsInt() @Min(500) @Max(300000)
  SOCKET_PING_TIMEOUT_MS = 20000;

  /** How often each replica checks that the sessions of its /ui sockets are still live; an ended one is disconnected. */
  @IsInt() @Min(1) @Max(3600)
  UI_SESSION_CHECK_SECONDS = 30;

  /** Disk (GB) a host keeps free for itself: a child VM that would leave less is refused. */
  @IsInt() @Min(0) @Max(1048576)
  CHILD_RESERVE_DISK_GB = 10;
}

export class ConfigError extends Error {}

/** The variables read from the environment; anything else in it is ignored. */
const DECLARED: readonly (keyof EnvironmentVariables)[] = [
  'DATABASE_URL', 'REDIS_URL', 'REDIS_PREFIX', 'PORT', 'HOST', 'PUBLIC_URL', 'SYSFLEET_SECRET', 'SYSFLEET_ADMIN_PASSWORD',
  'LOG_LEVEL', 'WEB_DIST', 'JOB_HOST_CONCURRENCY', 'JOB_ACK_TIMEOUT_MS', 'JOB_REDELIVER_SECONDS', 'JOB_RECONCILE_SECONDS', 'JOB_WORKER_CONCURRENCY', 'JOB_DEADLINES', 'AGENT_BUNDLE', 'ALLOWED_ORIGINS',
  'SESSION_TTL_HOURS', 'LOGIN_MAX_FAILURES_PER_USER', 'LOGIN_MAX_FAILURES_PER_IP', 'LOGIN_FAILURE_WINDOW_SECONDS', 'TRUST_PROXY',
  'CHILD_RESERVE_MEMORY_MB', 'CHILD_RESERVE_DISK_GB', 'DB_POOL_SIZE', 'SOCKET_PING_INTERVAL_MS', 'SOCKET_PING_TIMEOUT_MS',
  'UI_SESSION_CHECK_SECONDS', 'LISTEN_BACKLOG',
];

/** Parses and validates `env`; throws ConfigError naming every bad or missing variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): EnvironmentVariables {
  // Numeric settings are the ones whose default is a number.
  const defaults = new EnvironmentVariables() as unknown as Record<string, unknown>;
  const raw: Record<string, unknown> = {};
  for (const key of DECLARED) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    raw[key] = typeof defaults[key] === 'number' && /^\d+$/.test(value) ? Number(value) : value;
  }
  const config = plainToInstance(EnvironmentVariables, raw);
  const errors = validateSync(config);
  if (errors.length > 0) {
    // class-validator's messages start with the property's name; it is said once, at the start of the line.
    const lines = errors.map((e) =>
      e.value === undefined
        ? `  ${e.property} is missing`
        : `  ${e.property}: ${Object.values(e.constraints ?? {}).map((m) => (m.startsWith(`${e.property} `) ? m.slice(e.property.length + 1) : m)).join(', ')}`,
    );
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return config;
}
