import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import type { Server } from 'node:http';
import { WsMiddlewareAdapter } from '@app/ws-middleware';
import type { AppConfig } from './config/app-config.interface.js';

/** Time a client has to send a whole request head, WebSocket upgrades included (Node: 60 s). */
export const HTTP_HEADERS_TIMEOUT_MS = 10_000;
/** Time a client has to send a whole request, body included (Node: 300 s). */
export const HTTP_REQUEST_TIMEOUT_MS = 30_000;
/** How often those timeouts are enforced (Node: every 30 s, which would let a 10 s limit run to 40 s). */
export const HTTP_TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/**
 * Options to create the application with (`NestFactory.create` / `createNestApplication`). Nest's
 * own body parsers would run before every module middleware, so their refusals (413, malformed
 * JSON) would miss `X-Process-Time` and `X-Request-Id`; `AppModule` applies them after
 * `HttpObservabilityMiddleware` instead.
 */
export const APP_HTTP_OPTIONS = {
  bodyParser: false,
} as const satisfies NestApplicationOptions;

/** What `main.ts` and the e2e specs both do to an application before it listens. */
export function configureApp(app: INestApplication, config: AppConfig): void {
  app.useWebSocketAdapter(new WsMiddlewareAdapter(app));
  if (config.trustProxy > 0) {
    // Express's req.ip (login lockout) then agrees with the WebSocket limits on the client IP.
    (
      app.getHttpAdapter().getInstance() as {
        set(key: string, value: unknown): void;
      }
    ).set('trust proxy', config.trustProxy);
  }
  app.enableCors({
    origin:
      config.wsAllowedOrigins.length > 0 ? config.wsAllowedOrigins : false,
    exposedHeaders: ['X-Process-Time', 'X-Request-Id'],
    // Preflights go on to HttpObservabilityMiddleware (X-Process-Time, X-Request-Id) and are
    // answered 204 by CorsPreflightMiddleware after it.
    preflightContinue: true,
  });
  // Slowloris: a client that trickles its request head (an upgrade too) is answered 408 and cut.
  // The checking interval is read when the server starts listening, so it is set here (it is a
  // documented server option that @types/node does not declare as a property).
  const server = app.getHttpServer() as Server & {
    connectionsCheckingInterval: number;
  };
  server.headersTimeout = HTTP_HEADERS_TIMEOUT_MS;
  server.requestTimeout = HTTP_REQUEST_TIMEOUT_MS;
  server.connectionsCheckingInterval = HTTP_TIMEOUT_CHECK_INTERVAL_MS;
}
