import { createSecretKey, KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import type { WsMiddlewareModuleOptions } from '../interfaces/ws-middleware-options.interface.js';

/** Options with every default applied and the secret held as a `KeyObject`. */
export interface ResolvedWsMiddlewareOptions extends Required<
  Omit<
    WsMiddlewareModuleOptions,
    | 'jwtSecret'
    | 'validateUser'
    | 'allowedOrigins'
    | 'transform'
    | 'counterStorage'
    | 'handshakeStorage'
  >
> {
  jwtKey: KeyObject;
  validateUser: WsMiddlewareModuleOptions['validateUser'];
  allowedOrigins: ReadonlySet<string> | 'same-origin' | 'any';
  transform: WsMiddlewareModuleOptions['transform'];
  counterStorage: WsMiddlewareModuleOptions['counterStorage'];
  handshakeStorage: WsMiddlewareModuleOptions['handshakeStorage'];
}

const MIN_SECRET_LENGTH = 32;

function fail(field: string, expected: string, value: unknown): never {
  const shown = field === 'jwtSecret' ? '(hidden)' : show(value);
  throw new Error(
    `WsMiddlewareModule: invalid option "${field}": expected ${expected}, got ${shown}`,
  );
}

/** A value for an error message: JSON where it is faithful, `inspect` otherwise; never throws. */
function show(value: unknown): string {
  if (
    typeof value === 'number' ||
    typeof value === 'bigint' ||
    typeof value === 'symbol'
  ) {
    return String(value);
  }
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) {
      return json;
    }
  } catch {
    // circular or otherwise unserializable: fall through
  }
  return inspect(value, { depth: 0 });
}

function integer(
  options: WsMiddlewareModuleOptions,
  field: keyof WsMiddlewareModuleOptions,
  fallback: number,
  min: number,
): number {
  const value = options[field];
  if (value === undefined) {
    return fallback;
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(field, `an integer >= ${min}`, value);
  }
  return value;
}

function secretKey(secret: unknown): KeyObject {
  if (secret instanceof KeyObject) {
    if (secret.type !== 'secret') {
      fail('jwtSecret', 'a secret KeyObject', secret.type);
    }
    return secret;
  }
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    fail(
      'jwtSecret',
      `a string of at least ${MIN_SECRET_LENGTH} characters`,
      secret,
    );
  }
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

function origins(
  value: unknown,
): ResolvedWsMiddlewareOptions['allowedOrigins'] {
  if (value === undefined) {
    return 'same-origin';
  }
  if (
    !Array.isArray(value) ||
    value.some((origin) => typeof origin !== 'string')
  ) {
    fail('allowedOrigins', 'an array of origins', value);
  }
  const list = value as string[];
  if (list.includes('*')) {
    if (list.length > 1) {
      fail('allowedOrigins', "['*'] alone or a list of origins", value);
    }
    return 'any';
  }
  for (const origin of list) {
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      fail('allowedOrigins', 'origins like https://example.com', origin);
    }
    if (parsed.origin !== origin) {
      fail(
        'allowedOrigins',
        'origins like https://example.com (no path or slash)',
        origin,
      );
    }
  }
  return new Set(list);
}

/**
 * Checks the module options once, at start-up, and applies the defaults. Throws one error naming
 * the first bad field and its value (never the secret).
 */
export function resolveWsMiddlewareOptions(
  options: WsMiddlewareModuleOptions,
): ResolvedWsMiddlewareOptions {
  if (typeof options !== 'object' || options === null) {
    fail('options', 'an object', options);
  }
  for (const field of ['validateUser', 'transform'] as const) {
    if (options[field] !== undefined && typeof options[field] !== 'function') {
      fail(field, 'a function', options[field]);
    }
  }
  if (
    options.connectionMiddleware !== undefined &&
    (!Array.isArray(options.connectionMiddleware) ||
      options.connectionMiddleware.some((type) => typeof type !== 'function'))
  ) {
    fail(
      'connectionMiddleware',
      'an array of classes',
      options.connectionMiddleware,
    );
  }
  if (
    options.counterStorage !== undefined &&
    (typeof options.counterStorage?.increment !== 'function' ||
      typeof options.counterStorage?.decrement !== 'function')
  ) {
    fail(
      'counterStorage',
      'a WsCounterStorage (increment, decrement)',
      options.counterStorage,
    );
  }
  if (
    options.handshakeStorage !== undefined &&
    typeof options.handshakeStorage?.increment !== 'function'
  ) {
    fail(
      'handshakeStorage',
      'a ThrottlerStorage (increment)',
      options.handshakeStorage,
    );
  }
  const advertisedLimits = options.advertisedLimits ?? {};
  for (const [key, value] of Object.entries(advertisedLimits)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      fail(`advertisedLimits.${key}`, 'a finite number', value);
    }
  }
  const trustProxy = options.trustProxy ?? false;
  if (
    typeof trustProxy !== 'boolean' &&
    !(
      typeof trustProxy === 'number' &&
      Number.isInteger(trustProxy) &&
      trustProxy >= 0
    )
  ) {
    fail('trustProxy', 'a boolean or a number of hops', trustProxy);
  }
  for (const field of ['welcome', 'logConnections'] as const) {
    if (options[field] !== undefined && typeof options[field] !== 'boolean') {
      fail(field, 'a boolean', options[field]);
    }
  }
  return {
    jwtKey: secretKey(options.jwtSecret),
    clockToleranceSec: integer(options, 'clockToleranceSec', 5, 0),
    validateUser: options.validateUser,
    allowedOrigins: origins(options.allowedOrigins),
    connectRateLimit: integer(options, 'connectRateLimit', 120, 0),
    maxConnections: integer(options, 'maxConnections', 10_000, 1),
    maxConnectionsPerUser: integer(options, 'maxConnectionsPerUser', 5, 1),
    maxConnectionsPerIp: integer(options, 'maxConnectionsPerIp', 50, 1),
    maxMessageBytes: integer(options, 'maxMessageBytes', 65_536, 64),
    heartbeatMs: integer(options, 'heartbeatMs', 30_000, 0),
    maxBufferedBytes: integer(options, 'maxBufferedBytes', 1024 * 1024, 1024),
    rateLimitedRepliesBeforeClose: integer(
      options,
      'rateLimitedRepliesBeforeClose',
      20,
      1,
    ),
    maxQueuedFrames: integer(options, 'maxQueuedFrames', 64, 1),
    shutdownTimeoutMs: integer(options, 'shutdownTimeoutMs', 5_000, 0),
    trustProxy,
    welcome: options.welcome ?? true,
    advertisedLimits,
    transform: options.transform,
    counterStorage: options.counterStorage,
    handshakeStorage: options.handshakeStorage,
    connectionMiddleware: options.connectionMiddleware ?? [],
    logConnections: options.logConnections ?? true,
  };
}
