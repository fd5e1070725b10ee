import type { LogLevel } from '@nestjs/common';

/** The `LOG_LEVEL` values, from the quietest to the most verbose. */
export const APP_LOG_LEVELS = [
  'error',
  'warn',
  'log',
  'debug',
  'verbose',
] as const;

/** One of the `LOG_LEVEL` values. */
export type AppLogLevel = (typeof APP_LOG_LEVELS)[number];

/**
 * The validated, typed configuration of the chat server, read once from the environment
 * (see the Configuration table of PROTOCOL.md). Inject it with `@Inject(APP_CONFIG)`.
 *
 * @publicApi
 */
export interface AppConfig {
  /** `NODE_ENV`; `development` when unset. */
  readonly nodeEnv: string;
  /** True when `NODE_ENV=production`. */
  readonly isProduction: boolean;
  /** `PORT`: HTTP and WebSocket port (0 = any free port). Default 3000. */
  readonly port: number;
  /** `JWT_SECRET`: HS256 secret. Never log it. */
  readonly jwtSecret: string;
  /** True when `JWT_SECRET` was unset and a random per-process secret is used instead. */
  readonly jwtSecretGenerated: boolean;
  /** `JWT_EXPIRES_IN`: access-token lifetime in seconds. Default 1800. */
  readonly jwtExpiresIn: number;
  /** `DATABASE_URL`: PostgreSQL URL; undefined = embedded SQLite at `sqlitePath`. */
  readonly databaseUrl: string | undefined;
  /** `SQLITE_PATH`: SQLite file (or `:memory:`) used when `databaseUrl` is unset. Default `./data/chat.sqlite`. */
  readonly sqlitePath: string;
  /** `REDIS_URL`: enables the multi-node engine; undefined = single node, in memory. */
  readonly redisUrl: string | undefined;
  /** `REDIS_PREFIX`: prefix of every Redis key and channel, so deployments can share a Redis. Default `chat:`. */
  readonly redisPrefix: string;
  /** `CLUSTER_HEARTBEAT_MS`: how often a node refreshes its presence in Redis; entries live 3x this. Default 5000. */
  readonly clusterHeartbeatMs: number;
  /** `DEMO_USERS`: seed alice/wonderland and bob/builder at start. Default true unless production. */
  readonly demoUsers: boolean;
  /** `WS_RATE_LIMIT`: chat messages (`message`, `private`) a user may send per minute. Default 60. */
  readonly wsRateLimit: number;
  /** `WS_MAX_CONNECTIONS_PER_USER`: simultaneous connections of one user. Default 5. */
  readonly wsMaxConnectionsPerUser: number;
  /** `WS_MAX_CONNECTIONS_PER_IP`: simultaneous connections from one IP. Default 50. */
  readonly wsMaxConnectionsPerIp: number;
  /** `WS_MAX_CONNECTIONS`: simultaneous connections per server process. Default 10000. */
  readonly wsMaxConnections: number;
  /** `WS_CONNECT_RATE_LIMIT`: WebSocket handshakes one IP may start per minute. Default 120. */
  readonly wsConnectRateLimit: number;
  /**
   * `TRUST_PROXY`: reverse proxies in front of the server whose `X-Forwarded-For` entries are
   * trusted for the client IP (per-IP limits, login lockout). Default 0: the socket's peer.
   */
  readonly trustProxy: number;
  /** `WS_MAX_MESSAGE_BYTES`: largest accepted frame, in bytes. Default 65536. */
  readonly wsMaxMessageBytes: number;
  /** `WS_HEARTBEAT_MS`: ping interval in milliseconds. Default 30000. */
  readonly wsHeartbeatMs: number;
  /** `WS_ALLOWED_ORIGINS`: allowed browser origins (`scheme://host[:port]`); empty = same-origin only. */
  readonly wsAllowedOrigins: string[];
  /** `CENSORED_WORDS`: words masked with `*` in chat text; empty = none. */
  readonly censoredWords: string[];
  /** `LOG_LEVEL`: the most verbose level logged. Default `log`. */
  readonly logLevel: AppLogLevel;
  /** The Nest logger levels enabled by `logLevel`, for `app.useLogger()` / `NestFactory.create({ logger })`. */
  readonly logLevels: LogLevel[];
}
