import type { UserStatus } from '../chat.constants.js';

/** A frame to deliver to the local connections of a room or of some users, on every node. */
export type ChatDelivery =
  | {
      kind: 'room';
      room: string;
      frame: string;
      /** Skip every connection of this user (e.g. `typing`). */
      exceptUser?: string;
      /** Also deliver to these connection ids even if they are no longer in the room. */
      alsoConnections?: string[];
    }
  | {
      kind: 'users';
      users: string[];
      frame: string;
      /** Skip this connection (e.g. the sender's own for `private`). */
      exceptConnection?: string;
    };

/** A room and its member count (users). */
export interface RoomSummary {
  room: string;
  members: number;
}

/**
 * The cluster-wide chat state (membership, presence, status) and fan-out. The memory engine holds
 * it in this process; a Redis engine shares it across nodes. Every method is async so that either
 * can stand behind it. Token of the same name.
 */
export interface ChatEngine {
  /** Adds a connection of `user` to `room`; true when the user just became a member. */
  joinRoom(room: string, user: string, connectionId: string): Promise<boolean>;
  /** Removes a connection from `room`; true when the user just stopped being a member. */
  leaveRoom(room: string, user: string, connectionId: string): Promise<boolean>;
  /** Whether `user` has a connection in `room`. */
  isMember(room: string, user: string): Promise<boolean>;
  /** Users that are members of `room`. */
  roomMembers(room: string): Promise<string[]>;
  /** Rooms `user` is a member of. */
  roomsOf(user: string): Promise<string[]>;
  /** Rooms with members. */
  listRooms(): Promise<RoomSummary[]>;
  /** Registers a connection of `user`; true when it is the user's first anywhere. */
  userConnected(user: string, connectionId: string): Promise<boolean>;
  /** Unregisters a connection; true when it was the user's last anywhere. */
  userDisconnected(user: string, connectionId: string): Promise<boolean>;
  /** Users with at least one connection. */
  onlineUsers(): Promise<number>;
  /** Status of each user (`offline` when not connected). */
  statuses(users: string[]): Promise<Map<string, UserStatus>>;
  /** Sets the status of a connected user. */
  setStatus(user: string, status: UserStatus): Promise<void>;
  /** Delivers a frame to the matching connections on every node, once each. */
  publish(delivery: ChatDelivery): Promise<void>;
  /** Registers this node's delivery callback (called for every delivery, local or remote). */
  onDelivery(handler: (delivery: ChatDelivery) => void): void;
}

/** Injection token of the `ChatEngine`. */
export const CHAT_ENGINE = 'ChatEngine';
