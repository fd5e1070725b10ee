import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { WsConnectionContext } from '../interfaces/ws-connection-context.interface.js';
import type { WsConnectionMiddleware } from '../interfaces/ws-connection-middleware.interface.js';
import { WsAuthMiddleware } from '../middleware/ws-auth.middleware.js';
import { WsCapacityMiddleware } from '../middleware/ws-capacity.middleware.js';
import { WsConnectionLimitMiddleware } from '../middleware/ws-connection-limit.middleware.js';
import type { ResolvedWsMiddlewareOptions } from '../utils/resolve-options.util.js';
import { WS_RESOLVED_OPTIONS } from '../utils/resolved-options.token.js';

/**
 * The connect-time middleware chain, like the seed's `add_middleware` stack: capacity, auth,
 * connection limits, then the app's own `connectionMiddleware`, then acceptance. Replace a
 * built-in step by overriding its provider.
 *
 * @publicApi
 */
@Injectable()
export class WsConnectionPipeline implements OnModuleInit {
  private chain: WsConnectionMiddleware[] = [];

  constructor(
    @Inject(WS_RESOLVED_OPTIONS)
    private readonly options: ResolvedWsMiddlewareOptions,
    private readonly moduleRef: ModuleRef,
    capacity: WsCapacityMiddleware,
    auth: WsAuthMiddleware,
    limits: WsConnectionLimitMiddleware,
  ) {
    this.chain = [capacity, auth, limits];
  }

  async onModuleInit(): Promise<void> {
    for (const type of this.options.connectionMiddleware) {
      let instance: WsConnectionMiddleware;
      try {
        instance = this.moduleRef.get(type, { strict: false });
      } catch {
        instance = await this.moduleRef.create(type);
      }
      this.chain.push(instance);
    }
  }

  /** Runs the chain; `accept` is the innermost step. Rejects with what a step threw. */
  run(connection: WsConnectionContext, accept: () => void): Promise<void> {
    const dispatch = async (index: number): Promise<void> => {
      const middleware = this.chain[index];
      if (!middleware) {
        accept();
        return;
      }
      let called = false;
      await middleware.use(connection, () => {
        if (called) {
          return Promise.reject(new Error('next() called twice'));
        }
        called = true;
        return dispatch(index + 1);
      });
      if (!called) {
        throw new Error(
          `${middleware.constructor.name} neither called next() nor refused`,
        );
      }
    };
    return dispatch(0);
  }
}
