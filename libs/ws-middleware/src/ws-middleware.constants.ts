/** Metadata key set by `@WsPublic()`: the handler skips `WsAuthGuard`. */
export const WS_PUBLIC_KEY = 'WS_MIDDLEWARE:public';

/** Injection token of the `WsCounterStorage` behind per-user and per-IP connection limits. */
export const WS_COUNTER_STORAGE = 'WS_MIDDLEWARE:counter_storage';

/** Injection token of the `ThrottlerStorage` that counts handshakes per IP. */
export const WS_HANDSHAKE_STORAGE = 'WS_MIDDLEWARE:handshake_storage';

/** Close codes used by the library (RFC 6455 section 7.4.1). */
export const WsCloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
} as const;

/** Close reasons of the wire contract, sent verbatim. */
export const WsCloseReason = {
  MISSING_TOKEN: 'Missing authentication token',
  INVALID_TOKEN: 'Invalid authentication token',
  TOKEN_EXPIRED: 'Token expired',
  INVALID_USER: 'Invalid user',
  TOO_MANY_CONNECTIONS: 'Too many connections',
  RATE_LIMIT_EXCEEDED: 'Rate limit exceeded',
  SLOW_CONSUMER: 'Slow consumer',
  SERVER_OVERLOADED: 'Server overloaded',
  SHUTTING_DOWN: 'Server shutting down',
  BINARY_NOT_SUPPORTED: 'Binary frames are not supported',
  INTERNAL_ERROR: 'Internal error',
} as const;

/** Error codes carried by `{"event": "exception", "data": {"code"}}` replies. */
export const WsErrorCode = {
  /** Not JSON, not an object, `event` missing or not a string, or a bad `id`. */
  BAD_REQUEST: 'BAD_REQUEST',
  /** No handler for `event`. */
  UNKNOWN_EVENT: 'UNKNOWN_EVENT',
  /** `data` breaks the handler's DTO; `errors` lists `{field, message}`. */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  /** Not authenticated, token expired, or a bad `refresh`. */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** A guard said no, or the handler threw `WsError.forbidden()`. */
  FORBIDDEN: 'FORBIDDEN',
  /** The handler threw `WsError.notFound()`. */
  NOT_FOUND: 'NOT_FOUND',
  /** Over the rate limit; `retryAfterMs` says when to retry. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** Anything else; nothing internal is sent. */
  INTERNAL: 'INTERNAL',
} as const;

/** One of the `WsErrorCode` values. */
export type WsErrorCodeValue = (typeof WsErrorCode)[keyof typeof WsErrorCode];
