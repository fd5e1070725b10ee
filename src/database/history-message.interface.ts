/**
 * A room message as sent to clients (`message` event, `history {"room"}` reply).
 *
 * @publicApi
 */
export interface RoomMessage {
  /** Increasing integer, as a string. */
  id: string;
  /** Room name. */
  room: string;
  /** Username of the author. */
  from: string;
  /** Message text. */
  text: string;
  /** ISO-8601 UTC timestamp. */
  ts: string;
}

/**
 * A private message as sent to clients (`private` event, `history {"with"}` reply).
 *
 * @publicApi
 */
export interface PrivateMessage {
  /** Increasing integer, as a string. */
  id: string;
  /** Username of the author. */
  from: string;
  /** Username of the addressee. */
  to: string;
  /** Message text. */
  text: string;
  /** ISO-8601 UTC timestamp. */
  ts: string;
}

/**
 * A message to store: to a room, or to one user.
 *
 * @publicApi
 */
export type NewMessage =
  | { kind: 'room'; room: string; from: string; text: string }
  | { kind: 'private'; to: string; from: string; text: string };

/**
 * What `HistoryService.append` resolves to once the message is stored (durably).
 *
 * @publicApi
 */
export interface StoredMessageRef {
  /** Increasing integer, as a string. */
  id: string;
  /** ISO-8601 UTC timestamp. */
  ts: string;
}

/**
 * Which page of history to read (message ids as cursors).
 *
 * @publicApi
 */
export interface HistoryQuery {
  /** Only messages with a greater id: the first `limit` of them. A number is taken too. */
  after?: string | number;
  /** Only messages with a smaller id; without `after`, the newest `limit` of them. */
  before?: string | number;
  /** How many messages, 1-100; default 50. */
  limit?: number;
}
