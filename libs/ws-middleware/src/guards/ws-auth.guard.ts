import {
  Injectable,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { getWsConnection } from '../adapters/ws-connection.js';
import { WsError } from '../errors/ws-error.js';
import { WS_PUBLIC_KEY } from '../ws-middleware.constants.js';

/**
 * Per-message authentication: the connection has a user and an unexpired token. Connections are
 * only accepted once authenticated, so this guards against expiry races and foreign sockets.
 * Handlers marked `@WsPublic()` skip it.
 *
 * @publicApi
 */
@Injectable()
export class WsAuthGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

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
      connection.tokenExpiresAt <= Date.now()
    ) {
      throw WsError.unauthorized('Token expired');
    }
    return true;
  }
}
