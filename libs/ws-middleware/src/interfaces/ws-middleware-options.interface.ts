import type { Type } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { KeyObject } from 'node:crypto';
import type {
  WsConnectionContext,
  WsAuthUser,
} from './ws-connection-context.interface.js';
import type { WsConnectionMiddleware } from './ws-connection-middleware.interface.js';
import type { WsCounterStorage } from './ws-counter-storage.interface.js';
import type { WsTokenClaims } from './ws-token-claims.interface.js';

/** What the transform hook is told about the frame it transforms. */
export interface WsTransformMeta {
  /** The frame's `event` (a registered handler or built-in event). */
  event: string;
  /** The connection the frame came from. */
  connection: WsConnectionContext;
}

/**
 * Options of `WsMiddlewareModule.forRoot()` / `forRootAsync()`. Checked once at start-up.
 *
 * @publicApi
 */
export interface WsMiddlewareModuleOptions {
  /** HS256 secret (string of at least 32 chars, or a secret `KeyObject`). Required. */
  jwtSecret: string | KeyObject;
  /** Clock skew accepted on `exp`, `nbf` and `iat`, in seconds. Default 5. */
  clockToleranceSec?: number;
  /** Called once per connection with the verified claims; return the user, or `null` to close 1008 "Invalid user". */
  validateUser?: (
    claims: WsTokenClaims,
  ) => WsAuthUser | null | Promise<WsAuthUser | null>;
  /** Browser origins allowed (exact `scheme://host[:port]`); `undefined` = same-origin only; `['*']` = any. */
  allowedOrigins?: string[];
  /** WebSocket handshakes one IP may start per minute before HTTP 429. Default 120; 0 disables. */
  connectRateLimit?: number;
  /** Simultaneous connections per process before close 1013. Default 10000. */
  maxConnections?: number;
  /** Simultaneous connections per user before close 1008 "Too many connections". Default 5. */
  maxConnectionsPerUser?: number;
  /** Simultaneous connections per client IP before close 1008 "Too many connections". Default 50. */
  maxConnectionsPerIp?: number;
  /** Largest accepted frame in bytes; larger frames close 1009. Default 65536. */
  maxMessageBytes?: number;
  /** Ping interval in ms; a client that misses two pings is terminated. Default 30000; 0 disables. */
  heartbeatMs?: number;
  /** Bytes queued unread for one client before close 1008 "Slow consumer". Default 1 MiB. */
  maxBufferedBytes?: number;
  /** `RATE_LIMITED` replies within one minute after which the connection closes 1008. Default 20. */
  rateLimitedRepliesBeforeClose?: number;
  /** Frames waiting on one connection (before acceptance or behind a running handler) before its socket is paused until they drain. Default 64. */
  maxQueuedFrames?: number;
  /** How long shutdown waits for clients to close and disconnect hooks to finish, in ms. Default 5000. */
  shutdownTimeoutMs?: number;
  /** Trust `X-Forwarded-For`: `false` (default), `true` (any hops) or the number of trusted proxy hops. */
  trustProxy?: boolean | number;
  /** Send `{"event": "welcome"}` once a connection is accepted. Default true. */
  welcome?: boolean;
  /** Extra numbers advertised in `welcome.data.limits` next to `maxMessageBytes`. */
  advertisedLimits?: Record<string, number>;
  /** Rewrites the raw `data` of a frame before guards and pipes run (e.g. censoring); must accept any input. */
  transform?: (data: unknown, meta: WsTransformMeta) => unknown;
  /** Your connection middleware, run in order after the built-in capacity, auth and limit steps. */
  connectionMiddleware?: Type<WsConnectionMiddleware>[];
  /** Where per-user and per-IP connection counts live. Default: in this process. */
  counterStorage?: WsCounterStorage;
  /** Where handshakes per IP are counted (any `ThrottlerStorage`). Default: in this process. */
  handshakeStorage?: ThrottlerStorage;
  /** Connection events logged at `log` level, each message's outcome at `debug`. Default true. */
  logConnections?: boolean;
}
