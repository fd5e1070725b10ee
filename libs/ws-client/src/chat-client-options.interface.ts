import type { BackoffOptions } from './reconnect-backoff.js';

/** What the client reads from an `open`, `message`, `close` or `error` event. */
export interface WebSocketEventLike {
  data?: unknown;
  code?: number;
  reason?: string;
  wasClean?: boolean;
}

/**
 * The part of the WHATWG `WebSocket` the client uses; both the browser's global and the `ws`
 * package's class fit it. Handlers are typed `(event: never) => void` so that either
 * implementation's event types are accepted.
 *
 * @publicApi
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}

/**
 * A WebSocket class: `globalThis.WebSocket` in browsers (the default), `WebSocket` of the `ws`
 * package in Node (`import { WebSocket } from 'ws'`).
 *
 * @publicApi
 */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
) => WebSocketLike;

/** A token, or a function that gives the current one (called before every connection attempt). */
export type TokenSource = string | (() => string | Promise<string>);

/**
 * Options of {@link ChatClient}.
 *
 * @publicApi
 */
export interface ChatClientOptions {
  /** The endpoint, e.g. `ws://localhost:3000/ws` or `wss://chat.example.com/ws`. */
  url: string;
  /** The access token (a JWT from `POST /token`), or a function returning it. */
  token: TokenSource;
  /**
   * How the token travels: `subprotocol` (default; `['bearer', token]`, never in URLs or logs) or
   * `query` (`?token=`, for clients that cannot set subprotocols).
   */
  tokenCarrier?: 'subprotocol' | 'query';
  /** The WebSocket class; default `globalThis.WebSocket`. Node < 22 must pass `ws`'s. */
  WebSocket?: WebSocketConstructor;
  /** Gives a new token for the same user before the current one expires; sent as `refresh`. */
  refreshToken?: (currentToken: string) => Promise<string>;
  /** How long before expiry to refresh, in ms (half the remaining time if less). Default 60000. */
  refreshBeforeExpiryMs?: number;
  /** Reconnect after a lost connection (exponential backoff, full jitter); `false` never. */
  reconnect?: false | (BackoffOptions & { maxAttempts?: number });
  /** Reply timeout of a request, in ms, counted from the call. Default 10000. */
  requestTimeoutMs?: number;
  /** How long the handshake and welcome may take before the attempt is abandoned. Default 10000. */
  connectTimeoutMs?: number;
  /**
   * Sends `ping` after this long without any frame from the server and drops a connection that
   * does not answer within `requestTimeoutMs` (browsers cannot see WebSocket pings). Default
   * 25000; `0` turns it off.
   */
  keepAliveMs?: number;
  /** Page size of recovery (`history` limit, 1-100). Default 100. */
  recoveryPageSize?: number;
  /** Most pages recovered per room or conversation on one reconnect. Default 50. */
  maxRecoveryPages?: number;
  /**
   * After a reconnect, room-mates this client has no private conversation with are asked for
   * private messages sent while it was away (one `history {with, after}` each), up to this many.
   * Default 50; `0` turns it off.
   */
  maxProbedRoomMembers?: number;
  /** Source of randomness in `[0, 1)` for the jitter. Default `Math.random`. */
  random?: () => number;
}
