import { createHmac } from 'node:crypto';
import { UsersService } from '../../src/auth/users.service.js';
import {
  startChatAppWith,
  type SecurityChatApp,
} from '../support/chat-app-with.js';
import { rawHttp, RawWsClient } from '../support/raw-ws.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';
import type { WsTestClient } from '../support/ws-test-client.js';

/** The only close reasons an authentication refusal may carry (PROTOCOL.md, Refusals 3). */
const AUTH_REASONS = [
  'Missing authentication token',
  'Invalid authentication token',
  'Token expired',
  'Invalid user',
];
const INVALID = { code: 1008, reason: 'Invalid authentication token' };
const EXPIRED = { code: 1008, reason: 'Token expired' };
/** The library's default `clockToleranceSec`, which the chat server keeps. */
const TOLERANCE_SEC = 5;
const ALLOWED_ORIGIN = 'http://allowed.example';

const HASHES: Record<string, string> = {
  HS256: 'sha256',
  HS384: 'sha384',
  HS512: 'sha512',
};

const b64 = (value: unknown): string =>
  Buffer.from(
    typeof value === 'string' ? value : JSON.stringify(value),
  ).toString('base64url');

/**
 * A JWT built by hand, to forge what no signing library would: `signWith` picks the HMAC (by JWS
 * name) computed over the header and payload with `secret`, `''` leaves the signature empty.
 */
function forge(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signWith = String(header.alg),
  secret = TEST_SECRET,
): string {
  const body = `${b64(header)}.${b64(payload)}`;
  const hash = HASHES[signWith];
  if (hash === undefined) {
    return `${body}.`;
  }
  return `${body}.${createHmac(hash, secret).update(body).digest('base64url')}`;
}

const nowSec = (): number => Math.floor(Date.now() / 1000);

/**
 * The handshake of the real AppModule under hostile tokens, carriers and origins. Every refusal
 * is exactly the PROTOCOL.md outcome (close 1008 with one of its four reasons after the upgrade,
 * or HTTP 403 before it), sends nothing else, never echoes the token, and leaves the server
 * serving everyone else.
 */
describe('Security: handshake tokens, carriers and origins (e2e)', () => {
  let chat: SecurityChatApp;
  let bystander: WsTestClient;
  let users: UsersService;
  /** Every line any logger printed, at every level (the app runs at `verbose`). */
  const logLines: string[] = [];
  const errors: string[] = [];
  /** Every token a case sent; none may ever come back in a frame, header or log line. */
  const sentTokens = new Set<string>();
  const raws: RawWsClient[] = [];

  const open = async (
    path: string,
    headers: string[] = [],
  ): Promise<RawWsClient> => {
    const raw = await RawWsClient.open(chat.port, path, { headers });
    raws.push(raw);
    return raw;
  };

  /** Opens a raw upgrade and resolves with the close, expecting nothing but the close frame. */
  const refusedWith = async (
    path: string,
    headers: string[] = [],
  ): Promise<{ code: number | undefined; reason: string }> => {
    const raw = await open(path, headers);
    expect(raw.response.status).toBe(101);
    const closed = await raw.waitClosed();
    // Only the close frame: no welcome, no error reply, nothing about the token.
    expect(raw.frames.map((frame) => frame.opcode)).toEqual([0x8]);
    expect(raw.messages).toEqual([]);
    expect(AUTH_REASONS).toContain(closed.reason);
    return closed;
  };

  const query = (token: string): string => {
    sentTokens.add(token);
    return `/ws?token=${encodeURIComponent(token)}`;
  };

  beforeAll(async () => {
    chat = await startChatAppWith({
      env: {
        LOG_LEVEL: 'verbose',
        WS_ALLOWED_ORIGINS: ALLOWED_ORIGIN,
        WS_CONNECT_RATE_LIMIT: '100000',
        WS_MAX_CONNECTIONS_PER_USER: '100',
      },
    });
    for (const level of ['log', 'warn', 'debug', 'verbose', 'fatal'] as const) {
      chat.logger[level] = (...parts: unknown[]) => {
        logLines.push(parts.map(String).join(' '));
      };
    }
    chat.logger.error = (...parts: unknown[]) => {
      const line = parts.map(String).join(' ');
      logLines.push(line);
      errors.push(line);
    };
    users = chat.app.get(UsersService);
    const tokens = await chat.createUsers(['tok', 'bystander', 'doomed']);
    bystander = await chat.connect(tokens.get('bystander') ?? '');
  });

  afterEach(async () => {
    for (const raw of raws.splice(0)) {
      raw.socket.destroy();
    }
    expect(errors.splice(0)).toEqual([]);
    expect((await bystander.request('ping', {})).event).toBe('ping');
  });

  afterAll(async () => {
    // No token ever reached a log line, and the refusals were counted by wire reason only.
    const logs = logLines.join('\n');
    expect(logs).toContain('open id=');
    for (const token of sentTokens) {
      if (token.length >= 16) {
        expect(logs).not.toContain(token);
      }
    }
    const metrics = await chat.http().get('/metrics').expect(200);
    const reasons = [
      ...(metrics.text as string).matchAll(
        /^ws_auth_failures_total\{reason="([^"]*)"\}/gm,
      ),
    ].map((match) => match[1]);
    expect(reasons.length).toBeGreaterThan(0);
    for (const reason of reasons) {
      expect(['missing', 'invalid', 'expired', 'invalid_user']).toContain(
        reason,
      );
    }
    await chat.close();
  });

  describe('tokens', () => {
    it('closes 1008 "Missing authentication token" without any carrier', async () => {
      expect(await refusedWith('/ws')).toEqual({
        code: 1008,
        reason: 'Missing authentication token',
      });
    });

    const claims = (extra: Record<string, unknown> = {}) => ({
      sub: 'tok',
      iat: nowSec(),
      exp: nowSec() + 600,
      ...extra,
    });
    const valid = (): string => signToken('tok');
    const invalidCases: [string, () => string][] = [
      ['"abc"', () => 'abc'],
      ['"a.b"', () => 'a.b'],
      ['"a.b.c"', () => 'a.b.c'],
      ['".."', () => '..'],
      ['10 KB of junk', () => 'x'.repeat(10 * 1024)],
      [
        '10 KB of dotted base64url junk',
        () => `${'A'.repeat(5000)}.${'B'.repeat(5000)}.${'C'.repeat(240)}`,
      ],
      [
        'a correctly signed 10 KB token (over the length limit)',
        () => signToken('tok', 600, { pad: 'p'.repeat(7500) }),
      ],
      ...['none', 'None', 'NONE', 'nOnE'].flatMap(
        (alg): [string, () => string][] => [
          [
            `alg "${alg}" without a signature`,
            () => forge({ alg, typ: 'JWT' }, claims(), ''),
          ],
          [
            `alg "${alg}" with an HS256 signature`,
            () => forge({ alg, typ: 'JWT' }, claims(), 'HS256'),
          ],
        ],
      ),
      ['no alg at all', () => forge({ typ: 'JWT' }, claims(), 'HS256')],
      [
        'alg "hs256" (wrong casing)',
        () => forge({ alg: 'hs256' }, claims(), 'HS256'),
      ],
      [
        'HS384 with the right secret',
        () => forge({ alg: 'HS384', typ: 'JWT' }, claims()),
      ],
      [
        'HS512 with the right secret',
        () => forge({ alg: 'HS512', typ: 'JWT' }, claims()),
      ],
      [
        'RS256 signed with the secret as an HMAC key (algorithm confusion)',
        () => forge({ alg: 'RS256', typ: 'JWT' }, claims(), 'HS256'),
      ],
      [
        'a tampered payload (another sub, the original signature)',
        () => {
          const [header, , signature] = valid().split('.');
          return `${header}.${b64(claims({ sub: 'bystander' }))}.${signature}`;
        },
      ],
      [
        'a tampered signature',
        () => {
          const [header, payload, signature = ''] = valid().split('.');
          const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
          return `${header}.${payload}.${flipped}`;
        },
      ],
      [
        'a signature of another token',
        () => {
          const [header, payload] = valid().split('.');
          const other = signToken('bystander').split('.')[2];
          return `${header}.${payload}.${other}`;
        },
      ],
      [
        'the wrong secret',
        () =>
          signToken('tok', 600, {}, 'another-secret-another-secret-another'),
      ],
      [
        'no exp',
        () =>
          forge({ alg: 'HS256', typ: 'JWT' }, { sub: 'tok', iat: nowSec() }),
      ],
      [
        'a string exp',
        () => forge({ alg: 'HS256' }, claims({ exp: String(nowSec() + 600) })),
      ],
      [
        `nbf ${TOLERANCE_SEC + 3} s in the future (just outside the tolerance)`,
        () =>
          forge(
            { alg: 'HS256' },
            claims({ nbf: nowSec() + TOLERANCE_SEC + 3 }),
          ),
      ],
      [
        'nbf an hour in the future',
        () => forge({ alg: 'HS256' }, claims({ nbf: nowSec() + 3600 })),
      ],
      [
        `iat ${TOLERANCE_SEC + 3} s in the future (just outside the tolerance)`,
        () =>
          forge(
            { alg: 'HS256' },
            claims({ iat: nowSec() + TOLERANCE_SEC + 3 }),
          ),
      ],
      [
        'iat an hour in the future',
        () => forge({ alg: 'HS256' }, claims({ iat: nowSec() + 3600 })),
      ],
      [
        'a string iat',
        () => forge({ alg: 'HS256' }, claims({ iat: 'yesterday' })),
      ],
      [
        'no sub',
        () => forge({ alg: 'HS256' }, { iat: nowSec(), exp: nowSec() + 600 }),
      ],
      ['an empty sub', () => forge({ alg: 'HS256' }, claims({ sub: '' }))],
      ['a numeric sub', () => forge({ alg: 'HS256' }, claims({ sub: 42 }))],
      [
        'an object sub',
        () => forge({ alg: 'HS256' }, claims({ sub: { id: 'tok' } })),
      ],
      [
        'a JSON array payload',
        () => {
          const body = `${b64({ alg: 'HS256' })}.${b64([1, 2])}`;
          return `${body}.${createHmac('sha256', TEST_SECRET).update(body).digest('base64url')}`;
        },
      ],
      [
        'a header that is not JSON',
        () => {
          const body = `${b64('{"alg": "HS256"')}.${b64(claims())}`;
          return `${body}.${createHmac('sha256', TEST_SECRET).update(body).digest('base64url')}`;
        },
      ],
    ];

    it.each(invalidCases)(
      'closes 1008 "Invalid authentication token" for %s',
      async (_case, make) => {
        expect(await refusedWith(query(make()))).toEqual(INVALID);
      },
    );

    it('refuses every invalid token with byte-identical close frames, whatever check failed', async () => {
      const payloads = new Set<string>();
      for (const [, make] of invalidCases.slice(0, 12)) {
        const raw = await open(query(make()));
        await raw.waitClosed();
        const close = raw.frames.find((frame) => frame.opcode === 0x8);
        payloads.add(close?.payload.toString('hex') ?? '');
      }
      expect(payloads.size).toBe(1);
    });

    it('closes 1008 "Token expired" for a token that expired an hour ago', async () => {
      expect(
        await refusedWith(
          query(forge({ alg: 'HS256' }, claims({ exp: nowSec() - 3600 }))),
        ),
      ).toEqual(EXPIRED);
    });

    it(`closes 1008 "Token expired" for exp exactly ${TOLERANCE_SEC} s ago (just outside the tolerance)`, async () => {
      expect(
        await refusedWith(
          query(
            forge({ alg: 'HS256' }, claims({ exp: nowSec() - TOLERANCE_SEC })),
          ),
        ),
      ).toEqual(EXPIRED);
    });

    it(`accepts exp 3 s ago (just inside the ${TOLERANCE_SEC} s tolerance), then closes "Token expired" when it ends`, async () => {
      const exp = nowSec() - (TOLERANCE_SEC - 2);
      const raw = await open(query(forge({ alg: 'HS256' }, claims({ exp }))));
      expect((await raw.next('welcome')).data.user).toBe('tok');
      // The deadline is exp + tolerance, at most 2 s from now.
      expect(await raw.waitClosed(4000)).toEqual(EXPIRED);
      expect(Date.now()).toBeGreaterThanOrEqual(
        (exp + TOLERANCE_SEC) * 1000 - 50,
      );
    });

    it.each([
      ['nbf', 'nbf'],
      ['iat', 'iat'],
    ])(
      `accepts %s 3 s in the future (just inside the ${TOLERANCE_SEC} s tolerance)`,
      async (_case, claim) => {
        const raw = await open(
          query(forge({ alg: 'HS256' }, claims({ [claim]: nowSec() + 3 }))),
        );
        expect((await raw.next('welcome')).data.user).toBe('tok');
      },
    );

    it('closes 1008 "Invalid user" for a valid token of a deleted user, and only then', async () => {
      const token = signToken('doomed');
      const before = await open(query(token));
      expect((await before.next('welcome')).data.user).toBe('doomed');
      await expect(users.delete('doomed')).resolves.toBe(true);
      expect(await refusedWith(query(token))).toEqual({
        code: 1008,
        reason: 'Invalid user',
      });
    });

    it('never sends the token back in any frame or header', async () => {
      const token = valid();
      const raw = await open(query(token));
      await raw.next('welcome');
      expect(JSON.stringify(raw.response.headers)).not.toContain(token);
      for (const frame of raw.frames) {
        expect(frame.payload.toString('utf8')).not.toContain(token);
      }
    });
  });

  describe('carriers', () => {
    it('selects the subprotocol "bearer", never the token, and welcomes the user', async () => {
      const token = signToken('tok');
      sentTokens.add(token);
      const raw = await open('/ws', [
        `Sec-WebSocket-Protocol: chat.v1, bearer, ${token}`,
      ]);
      expect(raw.response.status).toBe(101);
      expect(raw.response.headers['sec-websocket-protocol']).toBe('bearer');
      expect(JSON.stringify(raw.response.headers)).not.toContain(token);
      expect((await raw.next('welcome')).data.user).toBe('tok');
      raw.emit('ping', {}, 'p');
      await raw.waitForMessage((m) => m.id === 'p', 'the ping reply');
      for (const frame of raw.frames) {
        expect(frame.payload.toString('utf8')).not.toContain(token);
      }
    });

    it('selects "bearer" and refuses an invalid token in the subprotocol, without echoing it', async () => {
      const bad = `${signToken('tok')}x`;
      sentTokens.add(bad);
      const raw = await open('/ws', [`Sec-WebSocket-Protocol: bearer, ${bad}`]);
      expect(raw.response.headers['sec-websocket-protocol']).toBe('bearer');
      expect(await raw.waitClosed()).toEqual(INVALID);
      expect(raw.messages).toEqual([]);
    });

    it('refuses "bearer" offered without a token after it as an invalid token', async () => {
      expect(
        await refusedWith(`/ws?token=${signToken('tok')}`, [
          'Sec-WebSocket-Protocol: chat.v1, bearer',
        ]),
      ).toEqual(INVALID);
    });

    it.each([
      [
        'an invalid Authorization header is not replaced by a valid subprotocol or query token',
        (good: string) => ({
          path: `/ws?token=${good}`,
          headers: [
            'Authorization: Bearer not-a-token',
            `Sec-WebSocket-Protocol: bearer, ${good}`,
          ],
        }),
        INVALID,
      ],
      [
        'a malformed Authorization header (Basic) is not replaced by a valid query token',
        (good: string) => ({
          path: `/ws?token=${good}`,
          headers: ['Authorization: Basic dG9rOnBhc3N3b3Jk'],
        }),
        INVALID,
      ],
      [
        'an expired Authorization token is not replaced by a valid query token',
        (good: string) => ({
          path: `/ws?token=${good}`,
          headers: [
            `Authorization: Bearer ${forge({ alg: 'HS256' }, { sub: 'tok', exp: nowSec() - 3600 })}`,
          ],
        }),
        EXPIRED,
      ],
      [
        'an invalid subprotocol token is not replaced by a valid query token',
        (good: string) => ({
          path: `/ws?token=${good}`,
          headers: ['Sec-WebSocket-Protocol: bearer, not-a-token'],
        }),
        INVALID,
      ],
    ])('%s', async (_case, make, outcome) => {
      const { path, headers } = make(signToken('tok'));
      expect(await refusedWith(path, headers)).toEqual(outcome);
    });

    it.each([
      [
        'a valid Authorization header wins over an invalid subprotocol token',
        (good: string) => ({
          path: '/ws?token=junk',
          headers: [
            `Authorization: Bearer ${good}`,
            'Sec-WebSocket-Protocol: bearer, junk',
          ],
        }),
      ],
      [
        'a valid subprotocol token wins over an invalid query token',
        (good: string) => ({
          path: '/ws?token=junk',
          headers: [`Sec-WebSocket-Protocol: bearer, ${good}`],
        }),
      ],
      [
        'a subprotocol list without "bearer" is no carrier: the query token is used',
        (good: string) => ({
          path: `/ws?token=${good}`,
          headers: ['Sec-WebSocket-Protocol: chat.v1, chat.v2'],
        }),
      ],
    ])('%s', async (_case, make) => {
      const { path, headers } = make(signToken('tok'));
      const raw = await open(path, headers);
      expect(raw.response.status).toBe(101);
      expect((await raw.next('welcome')).data.user).toBe('tok');
      const selected = raw.response.headers['sec-websocket-protocol'];
      expect(selected === undefined || selected === 'bearer').toBe(true);
    });
  });

  describe('origins', () => {
    const upgrade = (origins: string[]): string =>
      [
        `GET /ws?token=${signToken('tok')} HTTP/1.1`,
        `Host: 127.0.0.1:${chat.port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
        ...origins.map((origin) => `Origin: ${origin}`),
        '',
        '',
      ].join('\r\n');

    it.each([
      ['a suffix of the allowed host', ['http://allowed.example.evil.com']],
      ['a subdomain of the allowed host', ['http://sub.allowed.example']],
      ['"null" (sandboxed frames, file: pages)', ['null']],
      ['another scheme', ['https://allowed.example']],
      ['an explicit default port', ['http://allowed.example:80']],
      ['another port', ['http://allowed.example:8080']],
      ['a trailing slash', ['http://allowed.example/']],
      ['a trailing dot', ['http://allowed.example.']],
      ['another casing', ['HTTP://ALLOWED.EXAMPLE']],
      ['user info', ['http://user@allowed.example']],
      ['an empty value', ['']],
      ['a foreign origin', ['http://evil.com']],
      [
        'two Origin headers, the second foreign',
        [ALLOWED_ORIGIN, 'http://evil.com'],
      ],
    ])('answers 403 before the upgrade to %s', async (_case, origins) => {
      const { response } = await rawHttp(chat.port, upgrade(origins), {
        untilClosed: true,
      });
      expect(response.status).toBe(403);
      expect(response.headers).not.toHaveProperty('upgrade');
      expect(response.headers).not.toHaveProperty('sec-websocket-accept');
    });

    it('upgrades the allowed origin, exactly as browsers send it', async () => {
      const raw = await open(query(signToken('tok')), [
        `Origin: ${ALLOWED_ORIGIN}`,
      ]);
      expect(raw.response.status).toBe(101);
      expect((await raw.next('welcome')).data.user).toBe('tok');
    });

    it('upgrades the same origin', async () => {
      const raw = await open(query(signToken('tok')), [
        `Origin: http://127.0.0.1:${chat.port}`,
      ]);
      expect(raw.response.status).toBe(101);
      expect((await raw.next('welcome')).data.user).toBe('tok');
    });

    it('upgrades a client without Origin (not a browser)', async () => {
      const raw = await open(query(signToken('tok')));
      expect(raw.response.status).toBe(101);
      expect((await raw.next('welcome')).data.user).toBe('tok');
    });

    it('checks the origin before the token: a foreign page learns nothing about tokens', async () => {
      for (const path of [
        '/ws',
        '/ws?token=junk',
        `/ws?token=${signToken('tok')}`,
      ]) {
        const { response } = await rawHttp(
          chat.port,
          upgrade(['http://evil.com']).replace(/^GET \S+/, `GET ${path}`),
          { untilClosed: true },
        );
        expect(response.status).toBe(403);
        expect(response.rest.toString()).toBe('Forbidden\n');
      }
    });
  });
});
