import { Inject, Injectable } from '@nestjs/common';
import { WsConnectionRefusedError } from '../errors/ws-connection-refused.error.js';
import type { WsConnectionContext } from '../interfaces/ws-connection-context.interface.js';
import type { WsConnectionMiddleware } from '../interfaces/ws-connection-middleware.interface.js';
import type { WsCounterStorage } from '../interfaces/ws-counter-storage.interface.js';
import type { ResolvedWsMiddlewareOptions } from '../utils/resolve-options.util.js';
import { WS_RESOLVED_OPTIONS } from '../utils/resolved-options.token.js';
import {
  WS_COUNTER_STORAGE,
  WsCloseCode,
  WsCloseReason,
} from '../ws-middleware.constants.js';

/**
 * Step 4 of the connection pipeline: at most `maxConnectionsPerUser` connections per user and
 * `maxConnectionsPerIp` per client IP, counted in the `WS_COUNTER_STORAGE` and released on close.
 *
 * @publicApi
 */
@Injectable()
export class WsConnectionLimitMiddleware implements WsConnectionMiddleware {
  constructor(
    @Inject(WS_RESOLVED_OPTIONS)
    private readonly options: ResolvedWsMiddlewareOptions,
    @Inject(WS_COUNTER_STORAGE) private readonly storage: WsCounterStorage,
  ) {}

  async use(
    connection: WsConnectionContext,
    next: () => Promise<void>,
  ): Promise<void> {
    const keys: [string, number][] = [
      [`ip:${connection.ip}`, this.options.maxConnectionsPerIp],
    ];
    if (connection.user) {
      keys.push([
        `user:${connection.user.id}`,
        this.options.maxConnectionsPerUser,
      ]);
    }
    const acquired: string[] = [];
    const release = async (): Promise<void> => {
      await Promise.all(acquired.map((key) => this.storage.decrement(key)));
    };
    for (const [key, limit] of keys) {
      const count = await this.storage.increment(key);
      acquired.push(key);
      if (count > limit) {
        await release();
        throw new WsConnectionRefusedError(
          WsCloseCode.POLICY_VIOLATION,
          WsCloseReason.TOO_MANY_CONNECTIONS,
        );
      }
    }
    connection.onClose(release);
    await next();
  }
}
