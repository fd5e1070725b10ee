import { createSecretKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import type { WsMiddlewareModuleOptions } from '../interfaces/ws-middleware-options.interface.js';
import { resolveWsMiddlewareOptions } from './resolve-options.util.js';

const SECRET = 'a-test-secret-of-at-least-32-characters!';

/** Options with a valid secret plus `overrides`, typed loosely so bad values can be passed. */
function withSecret(
  overrides: Record<string, unknown>,
): WsMiddlewareModuleOptions {
  return {
    jwtSecret: SECRET,
    ...overrides,
  } as unknown as WsMiddlewareModuleOptions;
}

/** The message of the single error thrown by `resolveWsMiddlewareOptions(options)`. */
function errorMessageOf(options: unknown): string {
  let thrown: unknown;
  try {
    resolveWsMiddlewareOptions(options as WsMiddlewareModuleOptions);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(Error);
  return (thrown as Error).message;
}

describe(resolveWsMiddlewareOptions.name, () => {
  describe('defaults', () => {
    it('applies every default when only the secret is given', () => {
      const resolved = resolveWsMiddlewareOptions({ jwtSecret: SECRET });

      expect(resolved).toEqual({
        jwtKey: expect.any(KeyObject),
        clockToleranceSec: 5,
        validateUser: undefined,
        allowedOrigins: 'same-origin',
        connectRateLimit: 120,
        maxConnections: 10_000,
        maxConnectionsPerUser: 5,
        maxConnectionsPerIp: 50,
        maxMessageBytes: 65_536,
        heartbeatMs: 30_000,
        maxBufferedBytes: 1024 * 1024,
        rateLimitedRepliesBeforeClose: 20,
        maxQueuedFrames: 64,
        shutdownTimeoutMs: 5_000,
        trustProxy: false,
        welcome: true,
        advertisedLimits: {},
        transform: undefined,
        connectionMiddleware: [],
        logConnections: true,
      });
    });

    it('holds a string secret as a secret KeyObject with the same bytes', () => {
      const { jwtKey } = resolveWsMiddlewareOptions({ jwtSecret: SECRET });

      expect(jwtKey.type).toBe('secret');
      expect(jwtKey.export().toString('utf8')).toBe(SECRET);
    });

    it('keeps a secret KeyObject as given', () => {
      const key = createSecretKey(Buffer.alloc(32, 7));

      expect(resolveWsMiddlewareOptions({ jwtSecret: key }).jwtKey).toBe(key);
    });

    it('keeps explicit values, including the lowest allowed ones', () => {
      const validateUser = () => null;
      const transform = (data: unknown) => data;
      const resolved = resolveWsMiddlewareOptions({
        jwtSecret: SECRET,
        validateUser,
        transform,
        clockToleranceSec: 0,
        connectRateLimit: 0,
        maxConnections: 1,
        maxConnectionsPerUser: 1,
        maxConnectionsPerIp: 1,
        maxMessageBytes: 64,
        heartbeatMs: 0,
        maxBufferedBytes: 1024,
        rateLimitedRepliesBeforeClose: 1,
        maxQueuedFrames: 1,
        shutdownTimeoutMs: 0,
        trustProxy: 2,
        welcome: false,
        logConnections: false,
        advertisedLimits: { rooms: 10 },
      });

      expect(resolved).toMatchObject({
        validateUser,
        transform,
        clockToleranceSec: 0,
        connectRateLimit: 0,
        maxConnections: 1,
        maxConnectionsPerUser: 1,
        maxConnectionsPerIp: 1,
        maxMessageBytes: 64,
        heartbeatMs: 0,
        maxBufferedBytes: 1024,
        rateLimitedRepliesBeforeClose: 1,
        maxQueuedFrames: 1,
        shutdownTimeoutMs: 0,
        trustProxy: 2,
        welcome: false,
        logConnections: false,
        advertisedLimits: { rooms: 10 },
      });
    });
  });

  describe('allowedOrigins', () => {
    it("is 'same-origin' when undefined", () => {
      expect(
        resolveWsMiddlewareOptions({ jwtSecret: SECRET }).allowedOrigins,
      ).toBe('same-origin');
    });

    it("is 'any' for ['*']", () => {
      expect(
        resolveWsMiddlewareOptions({ jwtSecret: SECRET, allowedOrigins: ['*'] })
          .allowedOrigins,
      ).toBe('any');
    });

    it("refuses '*' mixed with origins", () => {
      expect(() =>
        resolveWsMiddlewareOptions({
          jwtSecret: SECRET,
          allowedOrigins: ['https://chat.example.com', '*'],
        }),
      ).toThrow(/"allowedOrigins"/);
    });

    it.each([
      ['NaN', Number.NaN, 'NaN'],
      ['Infinity', Number.POSITIVE_INFINITY, 'Infinity'],
      ['a BigInt', 10n, '10'],
    ])('names maxConnections and shows %s as given', (_name, value, shown) => {
      expect(() =>
        resolveWsMiddlewareOptions({
          jwtSecret: SECRET,
          maxConnections: value as unknown as number,
        }),
      ).toThrow(
        `invalid option "maxConnections": expected an integer >= 1, got ${shown}`,
      );
    });

    it('names validateUser for a circular object instead of throwing a TypeError', () => {
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      expect(() =>
        resolveWsMiddlewareOptions({
          jwtSecret: SECRET,
          validateUser: circular as never,
        }),
      ).toThrow(/invalid option "validateUser"/);
    });

    it('is the set of the listed origins', () => {
      const { allowedOrigins } = resolveWsMiddlewareOptions({
        jwtSecret: SECRET,
        allowedOrigins: ['https://chat.example.com', 'http://localhost:3000'],
      });

      expect(allowedOrigins).toEqual(
        new Set(['https://chat.example.com', 'http://localhost:3000']),
      );
    });

    it.each([
      ['https://chat.example.com/'],
      ['https://chat.example.com/rooms'],
      ['https://chat.example.com?x=1'],
      ['chat.example.com'],
      ['not a url'],
      [''],
    ])('refuses %j, naming the field and the value', (origin) => {
      const message = errorMessageOf(withSecret({ allowedOrigins: [origin] }));

      expect(message).toContain('"allowedOrigins"');
      expect(message).toContain(JSON.stringify(origin));
    });

    it.each([['https://chat.example.com'], [[42]], [{}]])(
      'refuses %j, which is not an array of strings',
      (value) => {
        const message = errorMessageOf(withSecret({ allowedOrigins: value }));

        expect(message).toContain('"allowedOrigins"');
        expect(message).toContain(JSON.stringify(value));
      },
    );
  });

  describe('jwtSecret', () => {
    it.each([
      ['a short string', 'hunter2-but-only-31-characters!'],
      ['an empty string', ''],
    ])('refuses %s without printing it', (_case, secret) => {
      const message = errorMessageOf({ jwtSecret: secret });

      expect(message).toContain('"jwtSecret"');
      expect(message).toContain('(hidden)');
      if (secret.length > 0) {
        expect(message).not.toContain(secret);
        expect(message).not.toContain('hunter2');
      }
    });

    it.each([
      ['missing', undefined],
      ['a number', 1234567890],
      ['a Buffer', Buffer.from(SECRET)],
    ])('refuses a secret that is %s', (_case, secret) => {
      const message = errorMessageOf({ jwtSecret: secret });

      expect(message).toContain('"jwtSecret"');
      expect(message).not.toContain(SECRET);
    });

    it.each(['publicKey', 'privateKey'] as const)(
      'refuses an asymmetric KeyObject (%s)',
      (part) => {
        const key = generateKeyPairSync('ed25519')[part];

        expect(errorMessageOf({ jwtSecret: key })).toContain('"jwtSecret"');
      },
    );

    it('does not print the secret when another field is bad', () => {
      const message = errorMessageOf(withSecret({ maxConnections: -1 }));

      expect(message).toContain('"maxConnections"');
      expect(message).not.toContain(SECRET);
    });
  });

  describe('integer fields', () => {
    const fields: [keyof WsMiddlewareModuleOptions, number][] = [
      ['clockToleranceSec', 0],
      ['connectRateLimit', 0],
      ['maxConnections', 1],
      ['maxConnectionsPerUser', 1],
      ['maxConnectionsPerIp', 1],
      ['maxMessageBytes', 64],
      ['heartbeatMs', 0],
      ['maxBufferedBytes', 1024],
      ['rateLimitedRepliesBeforeClose', 1],
      ['maxQueuedFrames', 1],
      ['shutdownTimeoutMs', 0],
    ];

    it.each(fields)(
      '%s refuses a negative number, naming the field and the value',
      (field) => {
        const message = errorMessageOf(withSecret({ [field]: -1 }));

        expect(message).toContain(`"${field}"`);
        expect(message).toContain('got -1');
      },
    );

    it.each(fields)(
      '%s refuses a non-integer, naming the field and the value',
      (field) => {
        const message = errorMessageOf(withSecret({ [field]: 70.5 }));

        expect(message).toContain(`"${field}"`);
        expect(message).toContain('got 70.5');
      },
    );

    it.each(fields)('%s refuses a value below its minimum %i', (field, min) => {
      const message = errorMessageOf(withSecret({ [field]: min - 1 }));

      expect(message).toContain(`"${field}"`);
      expect(message).toContain(`>= ${min}`);
    });

    it.each(fields)('%s refuses a numeric string', (field) => {
      const message = errorMessageOf(withSecret({ [field]: '100' }));

      expect(message).toContain(`"${field}"`);
      expect(message).toContain('"100"');
    });

    it.each(fields)('%s refuses NaN', (field) => {
      expect(errorMessageOf(withSecret({ [field]: Number.NaN }))).toContain(
        `"${field}"`,
      );
    });
  });

  describe('function fields', () => {
    it.each(['validateUser', 'transform'])(
      '%s refuses a non-function, naming the field and the value',
      (field) => {
        const message = errorMessageOf(withSecret({ [field]: 'yes' }));

        expect(message).toContain(`"${field}"`);
        expect(message).toContain('"yes"');
      },
    );

    it('connectionMiddleware refuses an array holding a non-class', () => {
      const message = errorMessageOf(
        withSecret({ connectionMiddleware: ['AuthMiddleware'] }),
      );

      expect(message).toContain('"connectionMiddleware"');
      expect(message).toContain('["AuthMiddleware"]');
    });
  });

  describe('trustProxy', () => {
    it.each([true, false, 0, 1, 3])('accepts %j', (trustProxy) => {
      expect(
        resolveWsMiddlewareOptions({ jwtSecret: SECRET, trustProxy })
          .trustProxy,
      ).toBe(trustProxy);
    });

    it.each([
      ['yes', '"yes"'],
      [-1, '-1'],
      [1.5, '1.5'],
      [{ hops: 1 }, '{"hops":1}'],
    ])('refuses %j, naming the field and the value', (trustProxy, shown) => {
      const message = errorMessageOf(withSecret({ trustProxy }));

      expect(message).toContain('"trustProxy"');
      expect(message).toContain(`got ${shown}`);
    });
  });

  describe('other fields', () => {
    it.each(['welcome', 'logConnections'])(
      '%s refuses a non-boolean',
      (field) => {
        const message = errorMessageOf(withSecret({ [field]: 'no' }));

        expect(message).toContain(`"${field}"`);
        expect(message).toContain('"no"');
      },
    );

    it('advertisedLimits refuses a non-number entry, naming its key', () => {
      const message = errorMessageOf(
        withSecret({ advertisedLimits: { rooms: '10' } }),
      );

      expect(message).toContain('"advertisedLimits.rooms"');
      expect(message).toContain('"10"');
    });

    it.each([null, 'options', 42])('refuses options that are %j', (options) => {
      expect(errorMessageOf(options)).toContain('"options"');
    });
  });

  it('throws a single error for the first bad field when several are bad', () => {
    const message = errorMessageOf({
      jwtSecret: 'short',
      maxConnections: -1,
      trustProxy: 'yes',
    });

    expect(message.match(/invalid option/g)).toHaveLength(1);
    expect(message).toMatch(/^WsMiddlewareModule: invalid option "\w+"/);
  });
});
