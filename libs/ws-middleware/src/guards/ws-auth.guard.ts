import {
  Inject,
  Injectable,
  Optional,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { getWsConnection } from '../adapters/ws-connection.js';
import { WsError } from '../errors/ws-error.js';
import type { ResolvedWsMiddlewareOptions } from '../utils/resolve-options.util.js';
import { WS_RESOLVED_OPTIONS } from '../utils/resolved-options.token.js';
import { WS_PUBLIC_KEY } from '../ws-middleware.constants.js';

/**
 * Per-message authentication: the connection has a user and a token that has not expired, with
 * the same `clockToleranceSec` as the handshake and the expiry close (a token accepted within
 * the tolerance is not refused message by message until the connection is closed). Connections
 * are only accepted once authenticated, so this guards against expiry races and foreign sockets.
 * Handlers marked `@WsPublic()` skip it.
 *
 * @publicApi
 */
@Injectable()
export class WsAuthGuard implements CanActivate {
  private readonly toleranceMs: number;

  constructor(
    private readonly reflector: Reflector,
    @Optional()
    @Inject(WS_RESOLVED_OPTIONS)
    options?: ResolvedWsMiddlewareOptions,
  ) {
    this.toleranceMs = (options?.clockToleranceSec ?? 0) * 1000;
  }

  canActivate(context: ExecutionContext): boolean {
    if (
      this.reflector.getAllAndOverride<boolean>(WS_PUBLIC_KEY, [
        context.getHandler(),
        context.getClass(),
      ])
    ) {
      return true;
    }
    const connection = getWsConnection(context.switchToWs().getClient());
    if (!connection?.user) {
      throw WsError.unauthorized('Not authenticated');
    }
    if (
      connection.tokenExpiresAt !== undefined &&
      connection.tokenExpiresAt + this.toleranceMs <= Date.now()
    ) {
      throw WsError.unauthorized('Token expired');
    }
    return true;
  }
}
