import { Inject, Injectable } from '@nestjs/common';
import { WsError, type WsConnectionContext } from '@app/ws-middleware';
import { UsersService } from '../auth/users.service.js';
import type {
  PrivateMessage,
  RoomMessage,
} from '../database/history-message.interface.js';
import { HistoryService } from '../database/history.service.js';
import type { UserStatus } from './chat.constants.js';
import {
  CHAT_ENGINE,
  type ChatEngine,
  type RoomSummary,
} from './engine/chat-engine.interface.js';
import type { HistoryQueryDto } from './dto/history-query.dto.js';
import { LocalConnectionsService } from './local-connections.service.js';

/** A room with its members and their statuses (`join` reply, `members` reply). */
export interface RoomMembers {
  room: string;
  members: { user: string; status: UserStatus }[];
}

const DEFAULT_HISTORY_LIMIT = 50;

function frame(event: string, data: unknown): string {
  return JSON.stringify({ event, data });
}

/**
 * The chat: rooms, membership and presence, messages, private messages, history, status and
 * typing. Everything that fans out goes through the `ChatEngine`, serialized once.
 */
@Injectable()
export class RoomsService {
  constructor(
    @Inject(CHAT_ENGINE) private readonly engine: ChatEngine,
    private readonly local: LocalConnectionsService,
    private readonly history: HistoryService,
    private readonly users: UsersService,
  ) {}

  /** A connection was accepted. */
  async connected(connection: WsConnectionContext): Promise<void> {
    this.local.add(connection);
    await this.engine.userConnected(userOf(connection), connection.id);
  }

  /** A connection closed: leaves its rooms (presence), and says offline after the last one. */
  async disconnected(connection: WsConnectionContext): Promise<void> {
    const user = userOf(connection);
    const rooms = this.local.remove(connection);
    const peers = await this.peersOf(user);
    for (const room of rooms) {
      if (await this.engine.leaveRoom(room, user, connection.id)) {
        await this.publishPresence(room, user, 'leave');
      }
    }
    if (await this.engine.userDisconnected(user, connection.id)) {
      peers.delete(user);
      if (peers.size > 0) {
        await this.engine.publish({
          kind: 'users',
          users: [...peers],
          frame: frame('status', { user, status: 'offline' }),
        });
      }
    }
  }

  async join(
    connection: WsConnectionContext,
    room: string,
  ): Promise<RoomMembers> {
    const user = userOf(connection);
    if (this.local.joinRoom(connection, room)) {
      if (await this.engine.joinRoom(room, user, connection.id)) {
        await this.publishPresence(room, user, 'join');
      }
    }
    return this.members(room);
  }

  async leave(
    connection: WsConnectionContext,
    room: string,
  ): Promise<{ room: string }> {
    const user = userOf(connection);
    if (this.local.leaveRoom(connection, room)) {
      if (await this.engine.leaveRoom(room, user, connection.id)) {
        await this.publishPresence(room, user, 'leave', connection.id);
      }
    }
    return { room };
  }

  async message(
    connection: WsConnectionContext,
    room: string,
    text: string,
  ): Promise<{ id: string; ts: string }> {
    const from = userOf(connection);
    await this.requireMember(room, from);
    const stored = await this.history.append({
      kind: 'room',
      room,
      from,
      text,
    });
    const message: RoomMessage = {
      id: stored.id,
      room,
      from,
      text,
      ts: stored.ts,
    };
    await this.engine.publish({
      kind: 'room',
      room,
      frame: frame('message', message),
    });
    return stored;
  }

  async private(
    connection: WsConnectionContext,
    to: string,
    text: string,
  ): Promise<{ id: string; ts: string }> {
    const from = userOf(connection);
    if (!(await this.users.exists(to))) {
      throw WsError.notFound(`Unknown user "${to}"`);
    }
    const stored = await this.history.append({
      kind: 'private',
      from,
      to,
      text,
    });
    const message: PrivateMessage = {
      id: stored.id,
      from,
      to,
      text,
      ts: stored.ts,
    };
    await this.engine.publish({
      kind: 'users',
      users: [to, from],
      frame: frame('private', message),
      exceptConnection: connection.id,
    });
    return stored;
  }

  async historyOf(
    connection: WsConnectionContext,
    query: HistoryQueryDto,
  ): Promise<{ messages: (RoomMessage | PrivateMessage)[] }> {
    const hasRoom = query.room !== undefined;
    const hasWith = query.with !== undefined;
    if (hasRoom === hasWith) {
      throw WsError.validation([
        {
          field: hasRoom ? 'with' : 'room',
          message: 'give exactly one of room or with',
        },
      ]);
    }
    const page = {
      after: query.after,
      before: query.before,
      limit: query.limit ?? DEFAULT_HISTORY_LIMIT,
    };
    const user = userOf(connection);
    if (query.room !== undefined) {
      await this.requireMember(query.room, user);
      return { messages: await this.history.roomHistory(query.room, page) };
    }
    const other = query.with as string;
    if (other !== user && !(await this.users.exists(other))) {
      throw WsError.notFound(`Unknown user "${other}"`);
    }
    return { messages: await this.history.privateHistory(user, other, page) };
  }

  async rooms(): Promise<{ rooms: RoomSummary[] }> {
    return { rooms: await this.engine.listRooms() };
  }

  async members(room: string): Promise<RoomMembers> {
    const users = await this.engine.roomMembers(room);
    const statuses = await this.engine.statuses(users);
    return {
      room,
      members: users.map((user) => ({
        user,
        status: statuses.get(user) ?? 'offline',
      })),
    };
  }

  async setStatus(
    connection: WsConnectionContext,
    status: Exclude<UserStatus, 'offline'>,
  ): Promise<{ status: string }> {
    const user = userOf(connection);
    await this.engine.setStatus(user, status);
    const peers = await this.peersOf(user);
    peers.add(user);
    await this.engine.publish({
      kind: 'users',
      users: [...peers],
      frame: frame('status', { user, status }),
    });
    return { status };
  }

  async typing(
    connection: WsConnectionContext,
    room: string,
  ): Promise<Record<string, never>> {
    const user = userOf(connection);
    await this.requireMember(room, user);
    await this.engine.publish({
      kind: 'room',
      room,
      frame: frame('typing', { room, user }),
      exceptUser: user,
    });
    return {};
  }

  /** Users sharing at least one room with `user` (and `user` if in any room). */
  private async peersOf(user: string): Promise<Set<string>> {
    const peers = new Set<string>();
    for (const room of await this.engine.roomsOf(user)) {
      for (const member of await this.engine.roomMembers(room)) {
        peers.add(member);
      }
    }
    return peers;
  }

  private async requireMember(room: string, user: string): Promise<void> {
    if (!(await this.engine.isMember(room, user))) {
      throw WsError.forbidden(`You have not joined room "${room}"`);
    }
  }

  private async publishPresence(
    room: string,
    user: string,
    action: 'join' | 'leave',
    alsoConnection?: string,
  ): Promise<void> {
    const text = `${user} has ${action === 'join' ? 'joined' : 'left'} the chat`;
    await this.engine.publish({
      kind: 'room',
      room,
      frame: frame('presence', { room, user, action, text }),
      alsoConnections: alsoConnection ? [alsoConnection] : undefined,
    });
  }
}

function userOf(connection: WsConnectionContext): string {
  if (!connection.user) {
    throw WsError.unauthorized('Not authenticated');
  }
  return connection.user.id;
}
