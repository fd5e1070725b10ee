import { Module } from '@nestjs/common';
import { WsExceptionsFilter } from './filters/ws-exceptions.filter.js';
import { WsAuthGuard } from './guards/ws-auth.guard.js';
import type { WsMiddlewareModuleOptions } from './interfaces/ws-middleware-options.interface.js';
import { WsAuthMiddleware } from './middleware/ws-auth.middleware.js';
import { WsCapacityMiddleware } from './middleware/ws-capacity.middleware.js';
import { WsConnectionLimitMiddleware } from './middleware/ws-connection-limit.middleware.js';
import { WsConnectionPipeline } from './services/ws-connection-pipeline.service.js';
import { WsConnectionRegistry } from './services/ws-connection-registry.service.js';
import { WsMetricsService } from './services/ws-metrics.service.js';
import { WsTokenVerifier } from './services/ws-token-verifier.service.js';
import { WsUpgradePolicy } from './services/ws-upgrade-policy.service.js';
import { MemoryCounterStorage } from './storage/memory-counter.storage.js';
import { WsMemoryThrottlerStorage } from './storage/ws-memory-throttler.storage.js';
import {
  resolveWsMiddlewareOptions,
  type ResolvedWsMiddlewareOptions,
} from './utils/resolve-options.util.js';
import { WS_RESOLVED_OPTIONS } from './utils/resolved-options.token.js';
import {
  WS_COUNTER_STORAGE,
  WS_HANDSHAKE_STORAGE,
} from './ws-middleware.constants.js';
import {
  WS_MIDDLEWARE_OPTIONS,
  WsMiddlewareConfigurableModule,
} from './ws-middleware.module-definition.js';

/**
 * WebSocket middleware for `@nestjs/platform-ws` gateways. Register it with `forRoot(options)` or
 * `forRootAsync({ imports, inject, useFactory })`, install `WsMiddlewareAdapter`, and put
 * `@UseWsMiddleware()` on the gateway.
 *
 * @publicApi
 */
@Module({
  providers: [
    {
      provide: WS_RESOLVED_OPTIONS,
      inject: [WS_MIDDLEWARE_OPTIONS],
      useFactory: (options: WsMiddlewareModuleOptions) =>
        resolveWsMiddlewareOptions(options),
    },
    {
      provide: WS_COUNTER_STORAGE,
      inject: [WS_RESOLVED_OPTIONS],
      useFactory: (options: ResolvedWsMiddlewareOptions) =>
        options.counterStorage ?? new MemoryCounterStorage(),
    },
    {
      provide: WS_HANDSHAKE_STORAGE,
      inject: [WS_RESOLVED_OPTIONS],
      useFactory: (options: ResolvedWsMiddlewareOptions) =>
        options.handshakeStorage ?? new WsMemoryThrottlerStorage(),
    },
    WsTokenVerifier,
    WsMetricsService,
    WsConnectionRegistry,
    WsUpgradePolicy,
    WsCapacityMiddleware,
    WsAuthMiddleware,
    WsConnectionLimitMiddleware,
    WsConnectionPipeline,
    WsAuthGuard,
    WsExceptionsFilter,
  ],
  exports: [
    WS_RESOLVED_OPTIONS,
    WS_COUNTER_STORAGE,
    WsTokenVerifier,
    WsMetricsService,
    WsConnectionRegistry,
    WsAuthGuard,
    WsExceptionsFilter,
  ],
})
export class WsMiddlewareModule extends WsMiddlewareConfigurableModule {}
