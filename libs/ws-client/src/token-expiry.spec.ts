import { refreshDelay, tokenExpiresAt } from './token-expiry.js';

function jwt(payload: object): string {
  const encode = (value: object): string =>
    Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(payload)}.signature`;
}

describe(tokenExpiresAt.name, () => {
  it('reads exp (seconds) as milliseconds, with base64url payloads of any length', () => {
    expect(tokenExpiresAt(jwt({ sub: 'alice', exp: 1700000000 }))).toBe(
      1700000000000,
    );
    expect(
      tokenExpiresAt(jwt({ sub: 'ülrich-ß?>>', exp: 1700000001, x: '~~~' })),
    ).toBe(1700000001000);
  });

  it.each([
    ['no payload', 'abc'],
    ['not base64 JSON', 'a.!!!.c'],
    ['no exp', jwt({ sub: 'alice' })],
    ['a string exp', jwt({ exp: '1700000000' })],
  ])('is undefined for %s', (_what, token) => {
    expect(tokenExpiresAt(token)).toBeUndefined();
  });
});

describe(refreshDelay.name, () => {
  it('refreshes leadMs before expiry when there is time', () => {
    expect(refreshDelay(1_800_000, 0, 60_000)).toBe(1_740_000);
  });

  it('refreshes at half the remaining time when it is short', () => {
    expect(refreshDelay(3_000, 0, 60_000)).toBe(1_500);
  });

  it('refreshes at once when expired', () => {
    expect(refreshDelay(1_000, 5_000, 60_000)).toBe(0);
  });
});
