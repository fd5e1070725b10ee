import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { getWsConnection } from '../adapters/ws-connection.js';

/**
 * The authenticated user of the connection (`WsUser`), or one of its fields.
 *
 * @publicApi
 * @example handleMessage(@WsUser('id') userId: string) {}
 */
export const WsUser = createParamDecorator(
  (field: string | undefined, context: ExecutionContext) => {
    const user = getWsConnection(context.switchToWs().getClient())?.user;
    return field ? user?.[field] : user;
  },
);
