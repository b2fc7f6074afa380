/**
 * Configuration from the environment, validated once at start.
 * A bad value stops the process with a message naming every bad variable.
 */
import 'reflect-metadata';
import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsString, IsUrl, Matches, Max, Min, MinLength, ValidateIf, validateSync } from 'class-validator';

const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : /^-?\d+$/.test(String(value)) ? Number(value) : value);
const toBool = ({ value }: { value: unknown }) => {
  if (value === undefined || value === '') return undefined;
  const v = String(value).toLowerCase();
  return v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : value;
};

export class EnvDto {
  @IsString() DB_HOST = '127.0.0.1';
  @Transform(toInt) @IsInt() @Min(1) @Max(65535) DB_PORT = 3306;
  @IsString() DB_USER = 'root';
  @IsString() DB_PASSWORD = '';
  @Matches(/^[A-Za-z0-9_]+$/, { message: 'DB_NAME must be letters, digits and underscores' }) DB_NAME = 'test';
  @Matches(/^[A-Za-z0-9_]*$/, { message: 'DB_TABLE_PREFIX must be letters, digits and underscores' }) DB_TABLE_PREFIX = 'oempro_';
  @Transform(toInt) @IsInt() @Min(1) @Max(500) DB_POOL_MAX = 10;

  @IsString() REDIS_HOST = '127.0.0.1';
  @Transform(toInt) @IsInt() @Min(1) @Max(65535) REDIS_PORT = 6379;
  @Transform(toInt) @IsInt() @Min(0) @Max(15) REDIS_DB = 0;
  @Matches(/^[A-Za-z0-9_:.-]+$/, { message: 'QUEUE_PREFIX must be letters, digits and _ : . -' }) QUEUE_PREFIX = 'journeys';

  @Transform(toInt) @IsInt() @Min(0) @Max(65535) PORT = 3000;
  @IsIn(['all', 'web', 'worker']) ROLE: 'all' | 'web' | 'worker' = 'all';
  @Transform(toInt) @IsInt() @Min(1) @Max(256) WORKER_CONCURRENCY = 4;
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) LOG_LEVEL = 'info';

  @IsString() @MinLength(16, { message: 'SESSION_SECRET must be at least 16 characters' }) SESSION_SECRET = 'dev-session-secret-change-me';
  /** Shared secret of the signed HTTP hook ingest (Standard Webhooks, base64 after an optional whsec_ prefix). */
  @IsString() @MinLength(16, { message: 'HOOK_SECRET must be at least 16 characters' }) HOOK_SECRET = 'whsec_ZGV2LWhvb2stc2VjcmV0LWNoYW5nZS1tZQ==';

  /** Host users allowed to open the queue dashboard (comma-separated UserIDs). */
  @Matches(/^\d+(,\d+)*$/, { message: 'ADMIN_USER_IDS must be comma-separated user ids, e.g. 1,7' }) ADMIN_USER_IDS = '1';

  /** Lets the Webhook action reach private, loopback and link-local addresses (tests, intranets). */
  @Transform(toBool) @IsBoolean() WEBHOOK_ALLOW_PRIVATE = false;
  @Transform(toInt) @IsInt() @Min(100) @Max(60000) WEBHOOK_TIMEOUT_MS = 10000;

  /** Base URL of the host's HTTP host API (Subscribe, Unsubscribe, Send Email from worker processes); empty: the reference host on PORT. */
  @ValidateIf((env: EnvDto) => env.HOST_API_URL !== '')
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }, { message: 'HOST_API_URL must be an http(s) URL' })
  HOST_API_URL = '';
  /** Shared secret that signs host API requests (Standard Webhooks, base64 after an optional whsec_ prefix). */
  @IsString() @MinLength(16, { message: 'HOST_API_SECRET must be at least 16 characters' }) HOST_API_SECRET = 'whsec_ZGV2LWhvc3QtYXBpLXNlY3JldC1jaGFuZ2UtbWU=';
  /** Time limit of one host API call, its quick retries included. */
  @Transform(toInt) @IsInt() @Min(100) @Max(60000) HOST_API_TIMEOUT_MS = 10000;

  /** Entries due within this many seconds get a Bull delayed job; later ones wait in MySQL only. */
  @Transform(toInt) @IsInt() @Min(5) @Max(86400) WAKE_HORIZON_SECONDS = 300;
  @Transform(toInt) @IsInt() @Min(1) @Max(3600) SWEEP_INTERVAL_SECONDS = 30;
}

export type AppConfig = EnvDto;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the variables of EnvDto from `env`; unknown variables are ignored. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const defaults = new EnvDto();
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(defaults)) if (env[key] !== undefined) picked[key] = env[key];
  const config = Object.assign(new EnvDto(), plainToInstance(EnvDto, picked));
  const errors = validateSync(config, { forbidUnknownValues: true });
  if (errors.length > 0) {
    throw new ConfigError(errors.map((e) => `${e.property}=${JSON.stringify(picked[e.property])}: ${Object.values(e.constraints ?? {}).join('; ')}`));
  }
  config.HOST_API_URL ||= `http://127.0.0.1:${config.PORT}/host-api`;
  return config;
}
