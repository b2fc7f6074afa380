/**
 * Configuration from the environment, validated once at start.
 * A bad value stops the process with a message naming every bad variable.
 *
 * The secrets have built-in development values so that a fresh clone and the
 * tests run without setup. Those values are public (they are in this file), so
 * with NODE_ENV=production the rules of the `production` validation group also
 * apply: neither secret may be its development value, and each must be long
 * enough to be a key.
 */
import 'reflect-metadata';
import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsString, IsUrl, Matches, Max, Min, MinLength, NotEquals, ValidateBy, ValidateIf, validateSync } from 'class-validator';

const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : /^-?\d+$/.test(String(value)) ? Number(value) : value);
const toBool = ({ value }: { value: unknown }) => {
  if (value === undefined || value === '') return undefined;
  const v = String(value).toLowerCase();
  return v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : value;
};

/** Validation group of the rules that apply only when NODE_ENV is `production`. */
const PRODUCTION = 'production';

export const DEV_SESSION_SECRET = 'dev-session-secret-change-me';
export const DEV_HOOK_SECRET = 'whsec_ZGV2LWhvb2stc2VjcmV0LWNoYW5nZS1tZQ==';
/** SESSION_SECRET is an HMAC-SHA256 key (login cookie, CSRF tokens): 32 characters of `openssl rand -base64 32` carry 192 bits and more. */
export const PRODUCTION_SESSION_SECRET_MIN_LENGTH = 32;
/** The Standard Webhooks specification asks for secrets of 24 to 64 random bytes. */
export const PRODUCTION_HOOK_SECRET_MIN_BYTES = 24;

/** Standard base64, padding optional (the standardwebhooks library accepts both). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** Key bytes of a Standard Webhooks secret (base64 after an optional `whsec_` prefix); null when it is not base64. */
export function hookSecretBytes(secret: string): number | null {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  return BASE64.test(encoded) ? Buffer.from(encoded, 'base64').length : null;
}

export const DEV_HOST_API_SECRET = 'whsec_ZGV2LWhvc3QtYXBpLXNlY3JldC1jaGFuZ2UtbWU=';

/** A rule checked only in production; `name` keeps its message apart from the rules of every environment. */
function InProduction(name: string, isSound: (value: unknown) => boolean, message: string): PropertyDecorator {
  return ValidateBy({ name, validator: { validate: isSound } }, { groups: [PRODUCTION], message });
}

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

  // Decorators run bottom-up: the development-value message comes first.
  @IsString()
  @MinLength(16, { message: 'SESSION_SECRET must be at least 16 characters' })
  @InProduction(
    'productionSessionSecret',
    (value) => typeof value === 'string' && value.length >= PRODUCTION_SESSION_SECRET_MIN_LENGTH,
    `SESSION_SECRET must be at least ${PRODUCTION_SESSION_SECRET_MIN_LENGTH} characters in production, e.g. the output of \`openssl rand -base64 32\``,
  )
  @NotEquals(DEV_SESSION_SECRET, {
    groups: [PRODUCTION],
    message: 'SESSION_SECRET is the built-in development value, which is public: set a secret of your own in production',
  })
  SESSION_SECRET = DEV_SESSION_SECRET;

  /** Shared secret of the signed HTTP hook ingest (Standard Webhooks, base64 after an optional whsec_ prefix). */
  @IsString()
  @MinLength(16, { message: 'HOOK_SECRET must be at least 16 characters' })
  @InProduction(
    'productionHookSecret',
    (value) => typeof value === 'string' && (hookSecretBytes(value) ?? 0) >= PRODUCTION_HOOK_SECRET_MIN_BYTES,
    `HOOK_SECRET must be base64 (after an optional whsec_ prefix) of at least ${PRODUCTION_HOOK_SECRET_MIN_BYTES} random bytes in production, e.g. whsec_ followed by the output of \`openssl rand -base64 32\``,
  )
  @NotEquals(DEV_HOOK_SECRET, {
    groups: [PRODUCTION],
    message: 'HOOK_SECRET is the built-in development value, which is public: set a secret of your own in production',
  })
  HOOK_SECRET = DEV_HOOK_SECRET;

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
  /** Shared secret that signs the calls to the host's HTTP host API (Standard Webhooks, like HOOK_SECRET). */
  @IsString()
  @MinLength(16, { message: 'HOST_API_SECRET must be at least 16 characters' })
  @InProduction(
    'productionHostApiSecret',
    (value) => typeof value === 'string' && (hookSecretBytes(value) ?? 0) >= PRODUCTION_HOOK_SECRET_MIN_BYTES,
    `HOST_API_SECRET must be base64 (after an optional whsec_ prefix) of at least ${PRODUCTION_HOOK_SECRET_MIN_BYTES} random bytes in production`,
  )
  @NotEquals(DEV_HOST_API_SECRET, {
    groups: [PRODUCTION],
    message: 'HOST_API_SECRET is the built-in development value, which is public: set a secret of your own in production',
  })
  HOST_API_SECRET = DEV_HOST_API_SECRET;
  /** Time limit of one host API call, its quick retries included. */
  @Transform(toInt) @IsInt() @Min(100) @Max(60000) HOST_API_TIMEOUT_MS = 10000;

  /**
   * Trigger events the intake holds waiting for a batch at most (about 1 KB
   * each); beyond it in-process hook callers wait for room and the signed HTTP
   * ingest answers 503 with Retry-After.
   */
  @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000) INTAKE_MAX_BACKLOG = 20_000;

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

/** Variables whose value never appears in an error message (it would end up in logs). */
const SECRET_VARIABLES = new Set(['SESSION_SECRET', 'HOOK_SECRET', 'HOST_API_SECRET', 'DB_PASSWORD']);

function describeValue(name: string, value: unknown): string {
  if (!SECRET_VARIABLES.has(name)) return `${name}=${JSON.stringify(value)}`;
  return value === undefined ? `${name} (not set: the built-in development value)` : `${name} (${String(value).length} characters, not shown)`;
}

/**
 * Connections the runtime needs beyond one per running job: the intake's
 * enrolment transactions (two lanes) while jobs hold theirs. A step holds one
 * connection for its transaction and never asks for a second, so a pool this
 * size never starves; smaller, jobs would wait on each other for connections.
 */
export const POOL_HEADROOM = 2;

function poolProblems(config: EnvDto, picked: Record<string, unknown>): string[] {
  if (config.ROLE === 'web' || config.DB_POOL_MAX >= config.WORKER_CONCURRENCY + POOL_HEADROOM) return [];
  return [
    `${describeValue('DB_POOL_MAX', picked.DB_POOL_MAX ?? config.DB_POOL_MAX)}: DB_POOL_MAX must be at least WORKER_CONCURRENCY + ${POOL_HEADROOM} (${config.WORKER_CONCURRENCY + POOL_HEADROOM}) in a process that runs workers (ROLE=${config.ROLE}): each running job holds a connection for its step`,
  ];
}

/**
 * Reads and validates the variables of EnvDto from `env`; unknown variables are ignored.
 * NODE_ENV=production adds the production rules (the secrets).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const defaults = new EnvDto();
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(defaults)) if (env[key] !== undefined) picked[key] = env[key];
  const config = Object.assign(new EnvDto(), plainToInstance(EnvDto, picked));
  // With groups, class-validator runs only the grouped rules unless `always`; without, strictGroups leaves the grouped ones out.
  const rules = env.NODE_ENV === 'production' ? { groups: [PRODUCTION], always: true } : { strictGroups: true };
  const errors = validateSync(config, { forbidUnknownValues: true, ...rules });
  const problems = errors.map((e) => `${describeValue(e.property, picked[e.property])}: ${Object.values(e.constraints ?? {}).join('; ')}`);
  if (!errors.some((e) => ['DB_POOL_MAX', 'WORKER_CONCURRENCY', 'ROLE'].includes(e.property))) problems.push(...poolProblems(config, picked));
  if (problems.length > 0) throw new ConfigError(problems);
  config.HOST_API_URL ||= `http://127.0.0.1:${config.PORT}/host-api`;
  return config;
}
