/**
 * The wire shapes of PROTOCOL.md (Envelope, Events), as the client sees them. Kept free of any
 * server import so that the client bundles for browsers without Nest.
 */

/** Error codes of `{"event": "exception"}` replies. @publicApi */
export type ChatErrorCode =
  | 'BAD_REQUEST'
  | 'UNKNOWN_EVENT'
  | 'VALIDATION_FAILED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'INTERNAL';

/** A status a user may set; `offline` is derived by the server. @publicApi */
export type SettableStatus = 'online' | 'away' | 'busy';

/** A user's status as others see it. @publicApi */
export type UserStatus = SettableStatus | 'offline';

/** A room message (`message` event, `history {room}` reply). @publicApi */
export interface RoomMessage {
  /** Increasing integer as a string, unique across rooms and private messages. */
  id: string;
  room: string;
  from: string;
  text: string;
  /** ISO-8601 UTC. */
  ts: string;
}

/** A private message (`private` event, `history {with}` reply). @publicApi */
export interface PrivateMessage {
  /** Increasing integer as a string, unique across rooms and private messages. */
  id: string;
  from: string;
  to: string;
  text: string;
  /** ISO-8601 UTC. */
  ts: string;
}

/** Either kind of stored message. @publicApi */
export type ChatMessage = RoomMessage | PrivateMessage;

/** The first frame of an accepted connection. @publicApi */
export interface WelcomeData {
  user: string;
  connectionId: string;
  limits: { maxMessageBytes: number; rateLimitPerMinute?: number } & Record<
    string,
    number | undefined
  >;
}

/** A member of a room with their status. @publicApi */
export interface RoomMember {
  user: string;
  status: UserStatus;
}

/** `join` and `members` replies. @publicApi */
export interface RoomMembers {
  room: string;
  members: RoomMember[];
}

/** An entry of the `rooms` reply. @publicApi */
export interface RoomSummary {
  room: string;
  /** Number of users (not connections) in the room. */
  members: number;
}

/** `presence` event. @publicApi */
export interface PresenceEvent {
  room: string;
  user: string;
  action: 'join' | 'leave';
  text: string;
}

/** `status` event. @publicApi */
export interface StatusEvent {
  user: string;
  status: UserStatus;
}

/** `typing` event. @publicApi */
export interface TypingEvent {
  room: string;
  user: string;
}

/** What the server answers to a stored `message` or `private`. @publicApi */
export interface MessageAck {
  id: string;
  ts: string;
}

/** Paging fields shared by both `history` forms. @publicApi */
export interface HistoryPage {
  /** Only messages with a greater id (the first `limit` of them). */
  after?: string;
  /** Only messages with a smaller id. */
  before?: string;
  /** 1-100, default 50. */
  limit?: number;
}

/** `history` request: a room or a conversation, never both. @publicApi */
export type HistoryQuery =
  | (HistoryPage & { room: string; with?: never })
  | (HistoryPage & { with: string; room?: never });

/** `exception` reply data. @publicApi */
export interface ExceptionData {
  status: 'error';
  code: ChatErrorCode | (string & {});
  message: string;
  event?: string;
  errors?: { field: string; message: string }[];
  retryAfterMs?: number;
}

/**
 * Every request of PROTOCOL.md with the `data` it takes and the `data` of its reply.
 *
 * @publicApi
 */
export interface ChatRequests {
  join: { data: { room: string }; reply: RoomMembers };
  leave: { data: { room: string }; reply: { room: string } };
  message: { data: { room: string; text: string }; reply: MessageAck };
  private: { data: { to: string; text: string }; reply: MessageAck };
  history: { data: HistoryQuery; reply: { messages: ChatMessage[] } };
  rooms: { data: Record<string, never>; reply: { rooms: RoomSummary[] } };
  members: { data: { room: string }; reply: RoomMembers };
  status: {
    data: { status: SettableStatus };
    reply: { status: SettableStatus };
  };
  typing: { data: { room: string }; reply: Record<string, never> };
  refresh: { data: { token: string }; reply: { expiresAt: string } };
  ping: { data: Record<string, never>; reply: { ts: string } };
}

/** A request event name of PROTOCOL.md. @publicApi */
export type ChatRequestEvent = keyof ChatRequests;

/** A frame as the server sends it. @publicApi */
export interface ServerFrame {
  event: string;
  id?: string | number;
  data: unknown;
}
