import { Inject, Injectable } from '@nestjs/common';
import jwt from 'jsonwebtoken';
import type { WsTokenClaims } from '../interfaces/ws-token-claims.interface.js';
import type { ResolvedWsMiddlewareOptions } from '../utils/resolve-options.util.js';
import { WS_RESOLVED_OPTIONS } from '../utils/resolved-options.token.js';
import { WsCloseReason } from '../ws-middleware.constants.js';

/** Outcome of verifying one token; `reason` is a wire close reason and never says more. */
export type WsTokenVerification =
  { ok: true; claims: WsTokenClaims } | { ok: false; reason: string };

const MAX_TOKEN_LENGTH = 8192;

/**
 * Verifies access tokens: HS256 only (every other `alg`, `none` included, is refused), `exp`
 * required, `nbf` and `iat` not in the future, `sub` a non-empty string. The secret is held as a
 * `KeyObject`, which keeps a verify in the tens of microseconds.
 *
 * @publicApi
 */
@Injectable()
export class WsTokenVerifier {
  constructor(
    @Inject(WS_RESOLVED_OPTIONS)
    private readonly options: ResolvedWsMiddlewareOptions,
  ) {}

  verify(token: string): WsTokenVerification {
    const invalid = { ok: false, reason: WsCloseReason.INVALID_TOKEN } as const;
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      return invalid;
    }
    let payload: unknown;
    try {
      payload = jwt.verify(token, this.options.jwtKey, {
        algorithms: ['HS256'],
        clockTolerance: this.options.clockToleranceSec,
      });
    } catch (error) {
      if (error instanceof jwt.TokenExpiredError) {
        return { ok: false, reason: WsCloseReason.TOKEN_EXPIRED };
      }
      return invalid;
    }
    if (typeof payload !== 'object' || payload === null) {
      return invalid;
    }
    const claims = payload as Record<string, unknown>;
    const nowSec = Date.now() / 1000;
    if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) {
      return invalid;
    }
    if (typeof claims.sub !== 'string' || claims.sub.length === 0) {
      return invalid;
    }
    if (
      claims.iat !== undefined &&
      (typeof claims.iat !== 'number' ||
        claims.iat > nowSec + this.options.clockToleranceSec)
    ) {
      return invalid;
    }
    return { ok: true, claims: claims as WsTokenClaims };
  }
}
