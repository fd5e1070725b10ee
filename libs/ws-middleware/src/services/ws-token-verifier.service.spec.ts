import { createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { resolveWsMiddlewareOptions } from '../utils/resolve-options.util.js';
import { WsCloseReason } from '../ws-middleware.constants.js';
import { WsTokenVerifier } from './ws-token-verifier.service.js';

const { jest } = import.meta;

const SECRET = 'a-test-secret-of-at-least-32-characters!';
/** A fixed "now", half-way through a second, in seconds. */
const NOW_SEC = 1_800_000_000;
const NOW_MS = NOW_SEC * 1000 + 500;

const INVALID = { ok: false, reason: WsCloseReason.INVALID_TOKEN };
const EXPIRED = { ok: false, reason: WsCloseReason.TOKEN_EXPIRED };

/** A token of `claims` signed by `jsonwebtoken`, which adds `iat` (now) unless given. */
function sign(
  claims: Record<string, unknown>,
  algorithm: jwt.Algorithm = 'HS256',
  secret = SECRET,
): string {
  return jwt.sign(claims, secret, { algorithm });
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A token crafted by hand, with an HS256 signature over whatever header and payload are given. */
function handSigned(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): string {
  const unsigned = `${base64url(header)}.${base64url(payload)}`;
  return `${unsigned}.${createHmac('sha256', SECRET).update(unsigned).digest('base64url')}`;
}

describe(WsTokenVerifier.name, () => {
  let verifier: WsTokenVerifier;

  beforeEach(() => {
    jest.spyOn(Date, 'now').mockReturnValue(NOW_MS);
    verifier = new WsTokenVerifier(
      resolveWsMiddlewareOptions({ jwtSecret: SECRET }),
    );
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('accepts a valid token and returns its claims', () => {
    const claims = {
      sub: 'user-1',
      exp: NOW_SEC + 60,
      iat: NOW_SEC,
      name: 'Ada',
    };

    expect(verifier.verify(sign(claims))).toEqual({ ok: true, claims });
  });

  describe('expiry', () => {
    it("refuses an expired token with 'Token expired'", () => {
      expect(
        verifier.verify(sign({ sub: 'user-1', exp: NOW_SEC - 60 })),
      ).toEqual(EXPIRED);
    });

    it('accepts a token expired just inside the 5 s clock tolerance', () => {
      expect(
        verifier.verify(sign({ sub: 'user-1', exp: NOW_SEC - 4 })).ok,
      ).toBe(true);
    });

    it('refuses a token expired just outside the 5 s clock tolerance', () => {
      expect(
        verifier.verify(sign({ sub: 'user-1', exp: NOW_SEC - 5 })),
      ).toEqual(EXPIRED);
    });

    it('applies a configured clock tolerance', () => {
      const strict = new WsTokenVerifier(
        resolveWsMiddlewareOptions({ jwtSecret: SECRET, clockToleranceSec: 0 }),
      );

      expect(strict.verify(sign({ sub: 'user-1', exp: NOW_SEC + 1 })).ok).toBe(
        true,
      );
      expect(strict.verify(sign({ sub: 'user-1', exp: NOW_SEC }))).toEqual(
        EXPIRED,
      );
    });

    it('accepts the iat that jsonwebtoken adds by default', () => {
      expect(
        verifier.verify(sign({ sub: 'user-1', exp: NOW_SEC + 60 })),
      ).toEqual({
        ok: true,
        claims: { sub: 'user-1', exp: NOW_SEC + 60, iat: NOW_SEC },
      });
    });

    it('refuses a token without exp', () => {
      expect(verifier.verify(sign({ sub: 'user-1' }))).toEqual(INVALID);
    });

    it('refuses a non-numeric exp', () => {
      const token = handSigned(
        { alg: 'HS256', typ: 'JWT' },
        { sub: 'user-1', exp: 'never' },
      );

      expect(verifier.verify(token)).toEqual(INVALID);
    });
  });

  describe('nbf and iat', () => {
    it('refuses nbf in the future beyond the tolerance', () => {
      expect(
        verifier.verify(
          sign({ sub: 'user-1', exp: NOW_SEC + 60, nbf: NOW_SEC + 6 }),
        ),
      ).toEqual(INVALID);
    });

    it('accepts nbf in the future within the tolerance', () => {
      expect(
        verifier.verify(
          sign({ sub: 'user-1', exp: NOW_SEC + 60, nbf: NOW_SEC + 5 }),
        ).ok,
      ).toBe(true);
    });

    it('refuses iat in the future beyond the tolerance', () => {
      expect(
        verifier.verify(
          sign({ sub: 'user-1', exp: NOW_SEC + 60, iat: NOW_SEC + 6 }),
        ),
      ).toEqual(INVALID);
    });

    it('accepts iat in the future within the tolerance', () => {
      expect(
        verifier.verify(
          sign({ sub: 'user-1', exp: NOW_SEC + 60, iat: NOW_SEC + 5 }),
        ).ok,
      ).toBe(true);
    });

    it('refuses a non-numeric iat', () => {
      const token = handSigned(
        { alg: 'HS256', typ: 'JWT' },
        { sub: 'user-1', exp: NOW_SEC + 60, iat: 'now' },
      );

      expect(verifier.verify(token)).toEqual(INVALID);
    });
  });

  describe('sub', () => {
    it.each([
      ['missing', {}],
      ['empty', { sub: '' }],
      ['a number', { sub: 42 }],
      ['null', { sub: null }],
    ])('refuses a sub that is %s', (_case, claims) => {
      expect(verifier.verify(sign({ ...claims, exp: NOW_SEC + 60 }))).toEqual(
        INVALID,
      );
    });
  });

  describe('algorithm', () => {
    const payload = base64url({ sub: 'user-1', exp: NOW_SEC + 60 });

    it.each(['none', 'NONE', 'None'])(
      'refuses an unsigned token with alg %j',
      (alg) => {
        const unsigned = `${base64url({ alg, typ: 'JWT' })}.${payload}`;

        expect(verifier.verify(`${unsigned}.`)).toEqual(INVALID);
        expect(verifier.verify(unsigned)).toEqual(INVALID);
      },
    );

    it.each(['none', 'NONE', 'None'])(
      'refuses alg %j even with a valid HS256 signature',
      (alg) => {
        const token = handSigned(
          { alg, typ: 'JWT' },
          { sub: 'user-1', exp: NOW_SEC + 60 },
        );

        expect(verifier.verify(token)).toEqual(INVALID);
      },
    );

    it.each(['HS384', 'HS512'] as const)(
      'refuses %s signed with the right secret',
      (algorithm) => {
        expect(
          verifier.verify(
            sign({ sub: 'user-1', exp: NOW_SEC + 60 }, algorithm),
          ),
        ).toEqual(INVALID);
      },
    );
  });

  describe('signature', () => {
    it('refuses a tampered payload', () => {
      const [header, , signature] = sign({
        sub: 'user-1',
        exp: NOW_SEC + 60,
      }).split('.');
      const forged = base64url({ sub: 'admin', exp: NOW_SEC + 60 });

      expect(verifier.verify(`${header}.${forged}.${signature}`)).toEqual(
        INVALID,
      );
    });

    it('refuses a token signed with another secret', () => {
      const token = sign(
        { sub: 'user-1', exp: NOW_SEC + 60 },
        'HS256',
        'x'.repeat(40),
      );

      expect(verifier.verify(token)).toEqual(INVALID);
    });

    it('refuses an expired token signed with another secret as invalid, not expired', () => {
      const token = sign(
        { sub: 'user-1', exp: NOW_SEC - 60 },
        'HS256',
        'x'.repeat(40),
      );

      expect(verifier.verify(token)).toEqual(INVALID);
    });

    it('refuses a token whose payload is not an object', () => {
      expect(
        verifier.verify(jwt.sign('user-1', SECRET, { algorithm: 'HS256' })),
      ).toEqual(INVALID);
    });
  });

  describe('malformed input', () => {
    it.each([
      ['empty', ''],
      ['abc', 'abc'],
      ['a.b', 'a.b'],
      ['a.b.c', 'a.b.c'],
      ['10 KB of junk', 'x'.repeat(10 * 1024)],
      ['10 KB of dotted junk', `${'a'.repeat(5000)}.${'b'.repeat(5000)}.c`],
    ])('refuses %s', (_case, token) => {
      expect(verifier.verify(token)).toEqual(INVALID);
    });
  });
});
