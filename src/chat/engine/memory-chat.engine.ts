import { Injectable } from '@nestjs/common';
import type { UserStatus } from '../chat.constants.js';
import type {
  ChatDelivery,
  ChatEngine,
  RoomSummary,
} from './chat-engine.interface.js';

/**
 * The single-node `ChatEngine`: state in this process, deliveries handed straight to the local
 * delivery callback.
 */
@Injectable()
export class MemoryChatEngine implements ChatEngine {
  /** room -> user -> connection ids */
  private readonly rooms = new Map<string, Map<string, Set<string>>>();
  /** user -> connection ids */
  private readonly connections = new Map<string, Set<string>>();
  private readonly status = new Map<string, UserStatus>();
  private handler: (delivery: ChatDelivery) => void = () => undefined;

  /** Entries held: rooms with members, users with connections, statuses (all 0 when idle). */
  get sizes(): { rooms: number; users: number; statuses: number } {
    return {
      rooms: this.rooms.size,
      users: this.connections.size,
      statuses: this.status.size,
    };
  }

  joinRoom(room: string, user: string, connectionId: string): Promise<boolean> {
    let members = this.rooms.get(room);
    if (!members) {
      members = new Map();
      this.rooms.set(room, members);
    }
    let ids = members.get(user);
    const first = !ids;
    if (!ids) {
      ids = new Set();
      members.set(user, ids);
    }
    ids.add(connectionId);
    return Promise.resolve(first);
  }

  leaveRoom(
    room: string,
    user: string,
    connectionId: string,
  ): Promise<boolean> {
    const members = this.rooms.get(room);
    const ids = members?.get(user);
    if (!members || !ids || !ids.delete(connectionId)) {
      return Promise.resolve(false);
    }
    if (ids.size > 0) {
      return Promise.resolve(false);
    }
    members.delete(user);
    if (members.size === 0) {
      this.rooms.delete(room);
    }
    return Promise.resolve(true);
  }

  isMember(room: string, user: string): Promise<boolean> {
    return Promise.resolve(this.rooms.get(room)?.has(user) ?? false);
  }

  roomMembers(room: string): Promise<string[]> {
    return Promise.resolve([...(this.rooms.get(room)?.keys() ?? [])]);
  }

  roomsOf(user: string): Promise<string[]> {
    const rooms: string[] = [];
    for (const [room, members] of this.rooms) {
      if (members.has(user)) {
        rooms.push(room);
      }
    }
    return Promise.resolve(rooms);
  }

  listRooms(): Promise<RoomSummary[]> {
    return Promise.resolve(
      [...this.rooms].map(([room, members]) => ({
        room,
        members: members.size,
      })),
    );
  }

  userConnected(user: string, connectionId: string): Promise<boolean> {
    let ids = this.connections.get(user);
    const first = !ids;
    if (!ids) {
      ids = new Set();
      this.connections.set(user, ids);
      this.status.set(user, 'online');
    }
    ids.add(connectionId);
    return Promise.resolve(first);
  }

  userDisconnected(user: string, connectionId: string): Promise<boolean> {
    const ids = this.connections.get(user);
    if (!ids || !ids.delete(connectionId) || ids.size > 0) {
      return Promise.resolve(false);
    }
    this.connections.delete(user);
    this.status.delete(user);
    return Promise.resolve(true);
  }

  onlineUsers(): Promise<number> {
    return Promise.resolve(this.connections.size);
  }

  statuses(users: string[]): Promise<Map<string, UserStatus>> {
    return Promise.resolve(
      new Map(users.map((user) => [user, this.status.get(user) ?? 'offline'])),
    );
  }

  setStatus(user: string, status: UserStatus): Promise<void> {
    if (this.connections.has(user)) {
      this.status.set(user, status);
    }
    return Promise.resolve();
  }

  publish(delivery: ChatDelivery): Promise<void> {
    this.handler(delivery);
    return Promise.resolve();
  }

  onDelivery(handler: (delivery: ChatDelivery) => void): void {
    this.handler = handler;
  }
}
