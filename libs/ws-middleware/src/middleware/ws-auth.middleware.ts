import { Inject, Injectable } from '@nestjs/common';
import { WsConnection } from '../adapters/ws-connection.js';
import { WsConnectionRefusedError } from '../errors/ws-connection-refused.error.js';
import type { WsConnectionContext } from '../interfaces/ws-connection-context.interface.js';
import type { WsConnectionMiddleware } from '../interfaces/ws-connection-middleware.interface.js';
import { WsMetricsService } from '../services/ws-metrics.service.js';
import { WsTokenVerifier } from '../services/ws-token-verifier.service.js';
import type { ResolvedWsMiddlewareOptions } from '../utils/resolve-options.util.js';
import { WS_RESOLVED_OPTIONS } from '../utils/resolved-options.token.js';
import { WsCloseCode, WsCloseReason } from '../ws-middleware.constants.js';

const METRIC_REASONS: Record<string, string> = {
  [WsCloseReason.MISSING_TOKEN]: 'missing',
  [WsCloseReason.INVALID_TOKEN]: 'invalid',
  [WsCloseReason.TOKEN_EXPIRED]: 'expired',
  [WsCloseReason.INVALID_USER]: 'invalid_user',
};

/**
 * Step 3 of the connection pipeline: verifies the access token and the user; refusals close 1008
 * with the wire reasons and never say which check failed beyond them.
 *
 * @publicApi
 */
@Injectable()
export class WsAuthMiddleware implements WsConnectionMiddleware {
  constructor(
    @Inject(WS_RESOLVED_OPTIONS)
    private readonly options: ResolvedWsMiddlewareOptions,
    private readonly verifier: WsTokenVerifier,
    private readonly metrics: WsMetricsService,
  ) {}

  async use(
    connection: WsConnectionContext,
    next: () => Promise<void>,
  ): Promise<void> {
    const token =
      connection instanceof WsConnection ? connection.takeToken() : undefined;
    if (token === undefined) {
      this.refuse(WsCloseReason.MISSING_TOKEN);
    }
    const verification = this.verifier.verify(token);
    if (!verification.ok) {
      this.refuse(verification.reason);
    }
    const { claims } = verification;
    let user = { id: claims.sub };
    if (this.options.validateUser) {
      const validated = await this.options.validateUser(claims);
      if (!validated) {
        this.refuse(WsCloseReason.INVALID_USER);
      }
      user = validated;
    }
    if (connection instanceof WsConnection) {
      connection.authenticate(user, claims.exp * 1000);
    } else {
      connection.user = user;
      connection.tokenExpiresAt = claims.exp * 1000;
    }
    await next();
  }

  private refuse(reason: string): never {
    this.metrics.authFailed(METRIC_REASONS[reason] ?? 'invalid');
    throw new WsConnectionRefusedError(WsCloseCode.POLICY_VIOLATION, reason);
  }
}
