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

  /** Comma-separated origins allowed on the /ui socket and for cookie-authenticated requests (PUBLIC_URL is always allowed). */
  @IsString() @IsOptional()
  ALLOWED_ORIGINS?: string;
}

export class ConfigError extends Error {}

/** The variables read from the environment; anything else in it is ignored. */
const DECLARED: readonly (keyof EnvironmentVariables)[] = [
  'DATABASE_URL', 'REDIS_URL', 'REDIS_PREFIX', 'PORT', 'HOST', 'PUBLIC_URL', 'SYSFLEET_SECRET', 'SYSFLEET_ADMIN_PASSWORD',
  'LOG_LEVEL', 'WEB_DIST', 'AGENT_BUNDLE', 'ALLOWED_ORIGINS',
];
const NUMERIC = new Set<string>(['PORT']);

/** Parses and validates `env`; throws ConfigError naming every bad or missing variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): EnvironmentVariables {
  const raw: Record<string, unknown> = {};
  for (const key of DECLARED) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    raw[key] = NUMERIC.has(key) && /^\d+$/.test(value) ? Number(value) : value;
  }
  const config = plainToInstance(EnvironmentVariables, raw);
  const errors = validateSync(config);
  if (errors.length > 0) {
    const lines = errors.map((e) =>
      e.value === undefined ? `  ${e.property} is missing` : `  ${e.property} ${Object.values(e.constraints ?? {}).join(', ')}`,
    );
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return config;
}
