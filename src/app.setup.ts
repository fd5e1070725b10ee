import type { INestApplication } from '@nestjs/common';
import { WsMiddlewareAdapter } from '@app/ws-middleware';
import type { AppConfig } from './config/app-config.interface.js';

/** What `main.ts` and the e2e specs both do to an application before it listens. */
export function configureApp(app: INestApplication, config: AppConfig): void {
  app.useWebSocketAdapter(new WsMiddlewareAdapter(app));
  app.enableCors({
    origin:
      config.wsAllowedOrigins.length > 0 ? config.wsAllowedOrigins : false,
    exposedHeaders: ['X-Process-Time', 'X-Request-Id'],
  });
}
