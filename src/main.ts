import { NestFactory } from '@nestjs/core';
import { WsMiddlewareAdapter } from '@app/ws-middleware';
import { AppModule } from './app.module.js';
import { APP_CONFIG } from './config/app-config.constants.js';
import type { AppConfig } from './config/app-config.interface.js';
import { loadAppConfig } from './config/app-config.loader.js';

async function bootstrap(): Promise<void> {
  // Fail fast, with one clear message, before anything else starts.
  const { logLevels } = loadAppConfig(process.env);
  const app = await NestFactory.create(AppModule, { logger: logLevels });
  const config = app.get<AppConfig>(APP_CONFIG);
  app.useWebSocketAdapter(new WsMiddlewareAdapter(app));
  app.enableCors({
    origin: config.wsAllowedOrigins.length ? config.wsAllowedOrigins : false,
    exposedHeaders: ['X-Process-Time', 'X-Request-Id'],
  });
  app.enableShutdownHooks();
  await app.listen(config.port);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
