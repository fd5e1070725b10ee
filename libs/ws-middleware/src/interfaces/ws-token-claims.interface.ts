/**
 * The verified claims of an access token.
 *
 * @publicApi
 */
export interface WsTokenClaims {
  /** Subject: the user id (a non-empty string). */
  sub: string;
  /** Expiry, in seconds since the epoch (required). */
  exp: number;
  /** Issue time, in seconds since the epoch; not in the future. */
  iat?: number;
  /** Any other claim of the token, unchecked. */
  [claim: string]: unknown;
}
