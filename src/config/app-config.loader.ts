import type { LogLevel } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import {
  DEFAULT_SQLITE_PATH,
  MIN_JWT_SECRET_LENGTH,
} from './app-config.constants.js';
import { AppConfigError } from './app-config.error.js';
import {
  APP_LOG_LEVELS,
  type AppConfig,
  type AppLogLevel,
} from './app-config.interface.js';

/** Longest delay Node timers accept (ms); longer ones fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/** Generated once per process, so every module (and every test app) signs with the same key. */
let processJwtSecret: string | undefined;

/**
 * Parses and validates the configuration from an environment record, without reading
 * `process.env` or logging; unit tests call it with a plain object.
 *
 * Empty values count as unset. Every invalid variable is reported at once, in one
 * {@link AppConfigError} that names the variable and its value (never the JWT secret's).
 * When `JWT_SECRET` is unset outside production, a random 32-byte secret is generated once
 * per process and `jwtSecretGenerated` is true (the caller warns about it).
 *
 * @example
 * const config = loadAppConfig({ NODE_ENV: 'test', SQLITE_PATH: ':memory:' });
 *
 * @publicApi
 */
export function loadAppConfig(env: NodeJS.ProcessEnv): AppConfig {
  const read = new EnvReader(env);

  const nodeEnv = read.string('NODE_ENV') ?? 'development';
  const isProduction = nodeEnv === 'production';
  const jwt = readJwtSecret(read, isProduction);
  const logLevel = read.oneOf('LOG_LEVEL', APP_LOG_LEVELS, 'log');

  const config: AppConfig = {
    nodeEnv,
    isProduction,
    port: read.integer('PORT', 3000, 0, 65535),
    jwtSecret: jwt.secret,
    jwtSecretGenerated: jwt.generated,
    jwtExpiresIn: read.integer(
      'JWT_EXPIRES_IN',
      1800,
      1,
      Math.floor(MAX_TIMER_MS / 1000),
    ),
    databaseUrl: read.url('DATABASE_URL', ['postgres:', 'postgresql:']),
    sqlitePath: read.string('SQLITE_PATH') ?? DEFAULT_SQLITE_PATH,
    redisUrl: read.url('REDIS_URL', ['redis:', 'rediss:']),
    redisPrefix: read.string('REDIS_PREFIX') ?? 'chat:',
    clusterHeartbeatMs: read.integer(
      'CLUSTER_HEARTBEAT_MS',
      5000,
      100,
      600_000,
    ),
    demoUsers: read.boolean('DEMO_USERS', !isProduction),
    wsRateLimit: read.integer('WS_RATE_LIMIT', 60, 1),
    wsMaxConnectionsPerUser: read.integer('WS_MAX_CONNECTIONS_PER_USER', 5, 1),
    wsMaxConnectionsPerIp: read.integer('WS_MAX_CONNECTIONS_PER_IP', 50, 1),
    wsMaxConnections: read.integer('WS_MAX_CONNECTIONS', 10000, 1),
    wsConnectRateLimit: read.integer('WS_CONNECT_RATE_LIMIT', 120, 1),
    trustProxy: read.integer('TRUST_PROXY', 0, 0, 10),
    wsMaxMessageBytes: read.integer(
      'WS_MAX_MESSAGE_BYTES',
      65536,
      1,
      100 * 1024 * 1024,
    ),
    wsHeartbeatMs: read.integer('WS_HEARTBEAT_MS', 30000, 1, MAX_TIMER_MS),
    wsAllowedOrigins: read.origins('WS_ALLOWED_ORIGINS'),
    censoredWords: read.list('CENSORED_WORDS'),
    logLevel,
    logLevels: logLevelsUpTo(logLevel),
  };

  if (read.problems.length > 0) {
    throw new AppConfigError(read.problems);
  }
  Object.freeze(config.wsAllowedOrigins);
  Object.freeze(config.censoredWords);
  Object.freeze(config.logLevels);
  return Object.freeze(config);
}

/** The Nest logger levels to enable for a `LOG_LEVEL` (`fatal` is always on). */
function logLevelsUpTo(level: AppLogLevel): LogLevel[] {
  return [
    'fatal',
    ...APP_LOG_LEVELS.slice(0, APP_LOG_LEVELS.indexOf(level) + 1),
  ];
}

function readJwtSecret(
  read: EnvReader,
  isProduction: boolean,
): { secret: string; generated: boolean } {
  // Taken as it is (not trimmed): it is a key, and every node must use the same bytes.
  const raw = read.raw('JWT_SECRET');
  if (raw !== undefined && raw.trim() !== '') {
    if (isProduction && raw.length < MIN_JWT_SECRET_LENGTH) {
      read.problem(
        `JWT_SECRET (value hidden) must be at least ${MIN_JWT_SECRET_LENGTH} characters when NODE_ENV=production, got ${raw.length}`,
      );
    }
    return { secret: raw, generated: false };
  }
  if (isProduction) {
    read.problem(
      `JWT_SECRET is required when NODE_ENV=production (at least ${MIN_JWT_SECRET_LENGTH} characters)`,
    );
    return { secret: '', generated: false };
  }
  processJwtSecret ??= randomBytes(32).toString('base64url');
  return { secret: processJwtSecret, generated: true };
}

/** Reads variables from an environment record and collects one message per invalid one. */
class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  problem(message: string): void {
    this.problems.push(message);
  }

  raw(name: string): string | undefined {
    const value: unknown = this.env[name];
    return typeof value === 'string' ? value : undefined;
  }

  /** The trimmed value, or undefined when unset or blank. */
  string(name: string): string | undefined {
    const value = this.raw(name)?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  integer(
    name: string,
    fallback: number,
    min: number,
    max = 2 ** 31 - 1,
  ): number {
    const value = this.string(name);
    if (value === undefined) {
      return fallback;
    }
    const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      this.problem(
        `${name}=${show(value)} must be an integer from ${min} to ${max}`,
      );
      return fallback;
    }
    return parsed;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.string(name)?.toLowerCase();
    if (value === undefined) {
      return fallback;
    }
    if (TRUE_WORDS.has(value)) {
      return true;
    }
    if (FALSE_WORDS.has(value)) {
      return false;
    }
    this.problem(`${name}=${show(value)} must be true or false`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.string(name)?.toLowerCase();
    if (value === undefined) {
      return fallback;
    }
    const match = allowed.find((candidate) => candidate === value);
    if (match === undefined) {
      this.problem(
        `${name}=${show(value)} must be one of ${allowed.join(', ')}`,
      );
      return fallback;
    }
    return match;
  }

  url(name: string, protocols: readonly string[]): string | undefined {
    const value = this.string(name);
    if (value === undefined) {
      return undefined;
    }
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (
      url === undefined ||
      !protocols.includes(url.protocol) ||
      url.host === ''
    ) {
      this.problem(
        `${name}=${show(redactUrl(value))} must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
      );
      return undefined;
    }
    return value;
  }

  /** A comma-separated list, entries trimmed, blanks and repeats dropped. */
  list(name: string): string[] {
    const value = this.string(name);
    if (value === undefined) {
      return [];
    }
    const entries = value
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    return [...new Set(entries)];
  }

  /** A list of browser origins, normalised as browsers send them (lower-case host, no default port). */
  origins(name: string): string[] {
    const origins: string[] = [];
    for (const entry of this.list(name)) {
      const origin = parseOrigin(entry);
      if (origin === undefined) {
        this.problem(
          `${name} entry ${show(entry)} must be an origin like https://chat.example.com or http://localhost:8080 (scheme://host[:port], no path)`,
        );
      } else if (!origins.includes(origin)) {
        origins.push(origin);
      }
    }
    return origins;
  }
}

function parseOrigin(entry: string): string | undefined {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return undefined;
  }
  const bare =
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.username === '' &&
    url.password === '' &&
    url.pathname === '/' &&
    url.search === '' &&
    url.hash === '' &&
    !entry.replace(/\/$/, '').endsWith('?') &&
    !entry.replace(/\/$/, '').endsWith('#');
  return bare ? url.origin : undefined;
}

/** Hides the password of a URL (`postgres://user:***@host/db`), parseable or not. */
function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password !== '') {
      url.password = '***';
      return url.toString();
    }
    return value;
  } catch {
    return value.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
}

/** A value as it appears in a message: quoted, escaped and cut to a readable length. */
function show(value: string): string {
  const cut = value.length > 120 ? `${value.slice(0, 117)}...` : value;
  return JSON.stringify(cut);
}
