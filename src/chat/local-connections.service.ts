import { Inject, Injectable } from '@nestjs/common';
import {
  WsConnectionRegistry,
  type WsConnectionContext,
} from '@app/ws-middleware';
import {
  CHAT_ENGINE,
  type ChatDelivery,
  type ChatEngine,
} from './engine/chat-engine.interface.js';

/**
 * The connections of this node by user and by room, and the delivery of engine frames to them.
 * Frames arrive serialized once; each connection gets the same string.
 */
@Injectable()
export class LocalConnectionsService {
  private readonly byId = new Map<string, WsConnectionContext>();
  private readonly byUser = new Map<string, Set<WsConnectionContext>>();
  private readonly byRoom = new Map<string, Set<WsConnectionContext>>();
  private readonly roomsOf = new Map<string, Set<string>>();

  constructor(
    @Inject(CHAT_ENGINE) engine: ChatEngine,
    private readonly registry: WsConnectionRegistry,
  ) {
    engine.onDelivery((delivery) => this.deliver(delivery));
  }

  /** Entries of each index (all 0 once every connection has closed). */
  get sizes(): {
    connections: number;
    users: number;
    rooms: number;
    roomSets: number;
  } {
    return {
      connections: this.byId.size,
      users: this.byUser.size,
      rooms: this.byRoom.size,
      roomSets: this.roomsOf.size,
    };
  }

  add(connection: WsConnectionContext): void {
    this.byId.set(connection.id, connection);
    addTo(this.byUser, userOf(connection), connection);
    this.roomsOf.set(connection.id, new Set());
  }

  /** Forgets the connection; returns the rooms it was in. */
  remove(connection: WsConnectionContext): string[] {
    this.byId.delete(connection.id);
    removeFrom(this.byUser, userOf(connection), connection);
    const rooms = [...(this.roomsOf.get(connection.id) ?? [])];
    for (const room of rooms) {
      removeFrom(this.byRoom, room, connection);
    }
    this.roomsOf.delete(connection.id);
    return rooms;
  }

  /** Whether this connection is in `room`. */
  inRoom(connection: WsConnectionContext, room: string): boolean {
    return this.roomsOf.get(connection.id)?.has(room) ?? false;
  }

  joinRoom(connection: WsConnectionContext, room: string): boolean {
    const rooms = this.roomsOf.get(connection.id);
    if (!rooms || rooms.has(room)) {
      return false;
    }
    rooms.add(room);
    addTo(this.byRoom, room, connection);
    return true;
  }

  leaveRoom(connection: WsConnectionContext, room: string): boolean {
    if (!this.roomsOf.get(connection.id)?.delete(room)) {
      return false;
    }
    removeFrom(this.byRoom, room, connection);
    return true;
  }

  deliver(delivery: ChatDelivery): void {
    const frame = this.registry.prepare(delivery.frame);
    if (delivery.kind === 'room') {
      const { exceptUser, alsoConnections } = delivery;
      const members = this.byRoom.get(delivery.room);
      for (const connection of members ?? []) {
        if (exceptUser === undefined || userOf(connection) !== exceptUser) {
          connection.sendFrame(frame);
        }
      }
      for (const id of alsoConnections ?? []) {
        const connection = this.byId.get(id);
        const got =
          connection !== undefined &&
          members?.has(connection) === true &&
          (exceptUser === undefined || userOf(connection) !== exceptUser);
        if (connection && !got) {
          connection.sendFrame(frame);
        }
      }
      return;
    }
    for (const user of new Set(delivery.users)) {
      for (const connection of this.byUser.get(user) ?? []) {
        if (connection.id !== delivery.exceptConnection) {
          connection.sendFrame(frame);
        }
      }
    }
  }
}

function userOf(connection: WsConnectionContext): string {
  return connection.user?.id ?? '';
}

function addTo<T>(index: Map<string, Set<T>>, key: string, value: T): void {
  let set = index.get(key);
  if (!set) {
    set = new Set();
    index.set(key, set);
  }
  set.add(value);
}

function removeFrom<T>(
  index: Map<string, Set<T>>,
  key: string,
  value: T,
): void {
  const set = index.get(key);
  if (set?.delete(value) && set.size === 0) {
    index.delete(key);
  }
}
