import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { getWsConnection } from '../adapters/ws-connection.js';

/**
 * The connection's `WsConnectionContext` (id, user, ip, send, close, ...).
 *
 * @publicApi
 * @example handleJoin(@WsConnection() connection: WsConnectionContext) {}
 */
export const WsConnection = createParamDecorator(
  (_field: unknown, context: ExecutionContext) =>
    getWsConnection(context.switchToWs().getClient()),
);
