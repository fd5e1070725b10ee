import type { AUTH_FAILURE_MESSAGES } from './auth.constants.js';

/**
 * Body of a successful `POST /auth/token` (OAuth2 access-token response).
 *
 * @publicApi
 */
export interface TokenResponse {
  /** HS256 JWT. */
  access_token: string;
  /** Always `bearer`. */
  token_type: 'bearer';
  /** Lifetime in seconds (`JWT_EXPIRES_IN`). */
  expires_in: number;
}

/**
 * Claims of an access token.
 *
 * @publicApi
 */
export interface AccessTokenPayload {
  /** Username. */
  sub: string;
  /** Issued at, seconds since the epoch (always set on tokens this server issues). */
  iat?: number;
  /** Expires at, seconds since the epoch. */
  exp: number;
  /** Random token id. */
  jti?: string;
}

/**
 * Why a token was refused: no token, a bad one (signature, `alg`, no `exp`...), an expired
 * one, or a valid one whose user no longer exists.
 *
 * @publicApi
 */
export type AuthFailureReason = keyof typeof AUTH_FAILURE_MESSAGES;

/**
 * Outcome of `AuthService.verifyAccessToken` / `AuthService.authenticate`. On failure,
 * `message` is the PROTOCOL.md text (e.g. the WebSocket close reason).
 *
 * @publicApi
 */
export type TokenCheck =
  | {
      ok: true;
      /** The token's `sub`. */
      username: string;
      /** When the token expires (`exp`). */
      expiresAt: Date;
      /** All claims. */
      payload: AccessTokenPayload;
    }
  | {
      ok: false;
      reason: AuthFailureReason;
      message: (typeof AUTH_FAILURE_MESSAGES)[AuthFailureReason];
    };

/**
 * The user attached to a request by `JwtAuthGuard` (as `request.user`).
 *
 * @publicApi
 */
export interface AuthenticatedUser {
  /** Username. */
  username: string;
}
