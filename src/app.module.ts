import {
  Module,
  type MiddlewareConsumer,
  type NestModule,
} from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import {
  WsMemoryThrottlerStorage,
  WsMiddlewareModule,
} from '@app/ws-middleware';
import { AppController } from './app.controller.js';
import { AuthModule } from './auth/auth.module.js';
import { ClusterModule } from './cluster/cluster.module.js';
import { RedisCounterStorage } from './cluster/redis-counter.storage.js';
import { RedisThrottlerStorage } from './cluster/redis-throttler.storage.js';
import { RedisService } from './cluster/redis.service.js';
import { UsersService } from './auth/users.service.js';
import { CensorService } from './chat/censor.service.js';
import { ChatConnectionMiddleware } from './chat/chat-connection.middleware.js';
import { CHAT_THROTTLER } from './chat/chat.constants.js';
import { ChatModule } from './chat/chat.module.js';
import { APP_CONFIG } from './config/app-config.constants.js';
import type { AppConfig } from './config/app-config.interface.js';
import { AppConfigModule } from './config/app-config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { CorsPreflightMiddleware } from './observability/cors-preflight.middleware.js';
import { HttpBodyParserMiddleware } from './observability/http-body-parser.middleware.js';
import { HttpObservabilityMiddleware } from './observability/http-observability.middleware.js';
import { ObservabilityModule } from './observability/observability.module.js';
import { WebModule } from './web/web.module.js';

/** Composition root of the reference chat server: configuration, database, auth, WebSockets, chat. */
@Module({
  imports: [
    AppConfigModule,
    DatabaseModule,
    AuthModule,
    ClusterModule,
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG, RedisService],
      useFactory: (config: AppConfig, redis: RedisService) => ({
        throttlers: [
          { name: CHAT_THROTTLER, ttl: 60_000, limit: config.wsRateLimit },
        ],
        storage: redis.enabled
          ? new RedisThrottlerStorage(redis, 'throttle')
          : new WsMemoryThrottlerStorage(),
      }),
    }),
    WsMiddlewareModule.forRootAsync({
      isGlobal: true,
      imports: [AuthModule, ChatModule],
      inject: [
        APP_CONFIG,
        UsersService,
        CensorService,
        RedisService,
        RedisCounterStorage,
      ],
      useFactory: (
        config: AppConfig,
        users: UsersService,
        censor: CensorService,
        redis: RedisService,
        counters: RedisCounterStorage,
      ) => ({
        jwtSecret: config.jwtSecret,
        validateUser: async (claims) =>
          (await users.exists(claims.sub)) ? { id: claims.sub } : null,
        allowedOrigins: config.wsAllowedOrigins.length
          ? config.wsAllowedOrigins
          : undefined,
        connectRateLimit: config.wsConnectRateLimit,
        trustProxy: config.trustProxy,
        maxConnections: config.wsMaxConnections,
        maxConnectionsPerUser: config.wsMaxConnectionsPerUser,
        maxConnectionsPerIp: config.wsMaxConnectionsPerIp,
        maxMessageBytes: config.wsMaxMessageBytes,
        heartbeatMs: config.wsHeartbeatMs,
        advertisedLimits: { rateLimitPerMinute: config.wsRateLimit },
        transform: (data, { event }) => censor.transform(data, event),
        connectionMiddleware: [ChatConnectionMiddleware],
        counterStorage: redis.enabled ? counters : undefined,
        handshakeStorage: redis.enabled
          ? new RedisThrottlerStorage(redis, 'handshake')
          : undefined,
      }),
    }),
    ChatModule,
    ObservabilityModule,
    WebModule,
  ],
  controllers: [AppController],
})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // In this order: every response, body-parser refusals and preflights included, is timed and
    // carries X-Request-Id (the app is created with APP_HTTP_OPTIONS: no parsers of Nest's own).
    consumer
      .apply(
        HttpObservabilityMiddleware,
        CorsPreflightMiddleware,
        HttpBodyParserMiddleware,
      )
      .forRoutes('{*path}');
  }
}
