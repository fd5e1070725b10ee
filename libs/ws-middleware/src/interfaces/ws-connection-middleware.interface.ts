import type { WsConnectionContext } from './ws-connection-context.interface.js';

/**
 * Connect-time middleware, the WebSocket counterpart of Nest's HTTP middleware. It runs once per
 * connection after the upgrade, before any frame is handled. Throw `WsConnectionRefusedError` to
 * close the connection; code after `await next()` runs once the connection is accepted (the
 * welcome frame is sent) and before queued frames are handled.
 *
 * @publicApi
 */
export interface WsConnectionMiddleware {
  /**
   * Runs once per connection. Call `next()` exactly once to go on (it resolves once the connection
   * is accepted and the rest of the chain has run), or throw `WsConnectionRefusedError` to refuse.
   */
  use(
    connection: WsConnectionContext,
    next: () => Promise<void>,
  ): Promise<void>;
}
