import { Injectable } from '@nestjs/common';
import {
  WsCloseCode,
  WsConnectionRefusedError,
  type WsConnectionContext,
  type WsConnectionMiddleware,
} from '@app/ws-middleware';
import { ROOM_PATTERN } from './chat.constants.js';
import { RoomsService } from './rooms.service.js';

/**
 * Connect-time chat work: refuses `/ws/{room}` with an invalid room (1008 "Invalid room"),
 * registers the accepted connection, joins `{room}` right after the welcome (the `join` reply,
 * without `id`), and cleans up presence when the connection closes.
 */
@Injectable()
export class ChatConnectionMiddleware implements WsConnectionMiddleware {
  constructor(private readonly rooms: RoomsService) {}

  async use(
    connection: WsConnectionContext,
    next: () => Promise<void>,
  ): Promise<void> {
    const room = connection.subPath;
    if (room !== undefined && !ROOM_PATTERN.test(room)) {
      throw new WsConnectionRefusedError(
        WsCloseCode.POLICY_VIOLATION,
        'Invalid room',
      );
    }
    await next();
    await this.rooms.connected(connection);
    connection.onClose(() => this.rooms.disconnected(connection));
    if (room !== undefined) {
      connection.send('join', await this.rooms.join(connection, room));
    }
  }
}
