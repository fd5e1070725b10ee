import {
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import { SkipThrottle } from '@nestjs/throttler';
import {
  UseWsMiddleware,
  WsConnection,
  type WsConnectionContext,
} from '@app/ws-middleware';
import { CHAT_THROTTLER } from './chat.constants.js';
import { EmptyDto } from './dto/empty.dto.js';
import { HistoryQueryDto } from './dto/history-query.dto.js';
import { PrivateMessageDto } from './dto/private-message.dto.js';
import { RoomMessageDto } from './dto/room-message.dto.js';
import { RoomDto } from './dto/room.dto.js';
import { StatusDto } from './dto/status.dto.js';
import { RoomsService } from './rooms.service.js';

/**
 * The chat's WebSocket events (PROTOCOL.md, Events). Thin: decorators, DTOs, delegation. Only
 * `message` and `private` count against the chat rate limit.
 */
@UseWsMiddleware()
@SkipThrottle({ [CHAT_THROTTLER]: true })
@WebSocketGateway({ path: '/ws' })
export class ChatGateway {
  constructor(private readonly rooms: RoomsService) {}

  @SubscribeMessage('join')
  join(
    @WsConnection() connection: WsConnectionContext,
    @MessageBody() body: RoomDto,
  ) {
    return this.rooms.join(connection, body.room);
  }

  @SubscribeMessage('leave')
  leave(
    @WsConnection() connection: WsConnectionContext,
    @MessageBody() body: RoomDto,
  ) {
    return this.rooms.leave(connection, body.room);
  }

  @SkipThrottle({ [CHAT_THROTTLER]: false })
  @SubscribeMessage('message')
  message(
    @WsConnection() connection: WsConnectionContext,
    @MessageBody() body: RoomMessageDto,
  ) {
    return this.rooms.message(connection, body.room, body.text);
  }

  @SkipThrottle({ [CHAT_THROTTLER]: false })
  @SubscribeMessage('private')
  private(
    @WsConnection() connection: WsConnectionContext,
    @MessageBody() body: PrivateMessageDto,
  ) {
    return this.rooms.private(connection, body.to, body.text);
  }

  @SubscribeMessage('history')
  history(
    @WsConnection() connection: WsConnectionContext,
    @MessageBody() body: HistoryQueryDto,
  ) {
    return this.rooms.historyOf(connection, body);
  }

  @SubscribeMessage('rooms')
  list(@MessageBody() _body: EmptyDto) {
    return this.rooms.rooms();
  }

  @SubscribeMessage('members')
  members(@MessageBody() body: RoomDto) {
    return this.rooms.members(body.room);
  }

  @SubscribeMessage('status')
  status(
    @WsConnection() connection: WsConnectionContext,
    @MessageBody() body: StatusDto,
  ) {
    return this.rooms.setStatus(connection, body.status);
  }

  @SubscribeMessage('typing')
  typing(
    @WsConnection() connection: WsConnectionContext,
    @MessageBody() body: RoomDto,
  ) {
    return this.rooms.typing(connection, body.room);
  }
}
