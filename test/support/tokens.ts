import jwt from 'jsonwebtoken';
import { randomUUID } from 'node:crypto';

/** The secret of the test apps (>= 32 chars). */
export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123';

/** Signs an HS256 access token for `sub`, valid for `expiresInSec`, with extra claims. */
export function signToken(
  sub: string,
  expiresInSec = 600,
  extra: Record<string, unknown> = {},
  secret = TEST_SECRET,
): string {
  return jwt.sign({ sub, jti: randomUUID(), ...extra }, secret, {
    algorithm: 'HS256',
    expiresIn: expiresInSec,
  });
}
