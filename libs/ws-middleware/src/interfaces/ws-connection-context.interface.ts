import type { WsPreparedFrame } from '../adapters/ws-prepared-frame.js';

/**
 * The authenticated user of a connection.
 *
 * @publicApi
 */
export interface WsAuthUser {
  /** Stable identifier (the token's `sub` unless `validateUser` says otherwise). */
  id: string;
  [key: string]: unknown;
}

/**
 * What guards, interceptors, handlers and connection middleware know about one connection
 * (`@WsConnection()`), without touching the socket.
 *
 * @publicApi
 */
export interface WsConnectionContext {
  /** Random id, unique per connection. */
  readonly id: string;
  /** Client IP (from `X-Forwarded-For` only when `trustProxy` allows). */
  readonly ip: string;
  /** `Date.now()` at the upgrade. */
  readonly connectedAt: number;
  /** Request path without the query string, e.g. `/ws/general`. */
  readonly path: string;
  /**
   * What follows the gateway path and a slash, decoded: `general` for `/ws/general` on a `/ws`
   * gateway, `''` for `/ws/`, `a/b` for `/ws/a/b`; `undefined` for `/ws` itself.
   */
  readonly subPath: string | undefined;
  /** Query parameters, `token` removed. */
  readonly query: URLSearchParams;
  /** Request headers, credentials removed. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Set once authentication succeeded. */
  user: WsAuthUser | undefined;
  /** Expiry of the current token in ms since the epoch. */
  tokenExpiresAt: number | undefined;
  /** Free-form per-connection state for your middleware and handlers. */
  readonly state: Map<string, unknown>;
  /** Whether the socket can still send. */
  readonly isOpen: boolean;
  /** Sends `{"event", "data"}` to this connection. */
  send(event: string, data: unknown): void;
  /** Sends an already serialized frame; pass a `WsPreparedFrame` to frame a broadcast once for many. */
  sendFrame(frame: string | WsPreparedFrame): void;
  /** Closes the connection with a close frame. */
  close(code: number, reason: string): void;
  /** Registers a hook run once the connection has closed; shutdown awaits it (bounded). */
  onClose(hook: () => void | Promise<void>): void;
}
