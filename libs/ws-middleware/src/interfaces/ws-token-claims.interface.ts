/**
 * The verified claims of an access token.
 *
 * @publicApi
 */
export interface WsTokenClaims {
  sub: string;
  exp: number;
  iat?: number;
  [claim: string]: unknown;
}
