import { Inject, Injectable } from '@nestjs/common';
import { WsConnectionRefusedError } from '../errors/ws-connection-refused.error.js';
import type { WsConnectionContext } from '../interfaces/ws-connection-context.interface.js';
import type { WsConnectionMiddleware } from '../interfaces/ws-connection-middleware.interface.js';
import { WsConnectionRegistry } from '../services/ws-connection-registry.service.js';
import type { ResolvedWsMiddlewareOptions } from '../utils/resolve-options.util.js';
import { WS_RESOLVED_OPTIONS } from '../utils/resolved-options.token.js';
import { WsCloseCode, WsCloseReason } from '../ws-middleware.constants.js';

/**
 * Step 2 of the connection pipeline: closes 1013 "Server overloaded" past `maxConnections`.
 *
 * @publicApi
 */
@Injectable()
export class WsCapacityMiddleware implements WsConnectionMiddleware {
  constructor(
    @Inject(WS_RESOLVED_OPTIONS)
    private readonly options: ResolvedWsMiddlewareOptions,
    private readonly registry: WsConnectionRegistry,
  ) {}

  async use(
    _connection: WsConnectionContext,
    next: () => Promise<void>,
  ): Promise<void> {
    // The registry already counts this connection.
    if (this.registry.size > this.options.maxConnections) {
      throw new WsConnectionRefusedError(
        WsCloseCode.TRY_AGAIN_LATER,
        WsCloseReason.SERVER_OVERLOADED,
      );
    }
    await next();
  }
}
