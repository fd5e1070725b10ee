import { ConsoleLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { APP_HTTP_OPTIONS, configureApp } from './app.setup.js';
import { APP_CONFIG } from './config/app-config.constants.js';
import type { AppConfig } from './config/app-config.interface.js';
import { loadAppConfig } from './config/app-config.loader.js';

async function bootstrap(): Promise<void> {
  // Fail fast, with one clear message, before anything else starts.
  const { logLevels, isProduction } = loadAppConfig(process.env);
  // Human-readable in development, JSON lines in production.
  const logger = new ConsoleLogger({ logLevels, json: isProduction });
  const app = await NestFactory.create(AppModule, {
    ...APP_HTTP_OPTIONS,
    logger,
  });
  const config = app.get<AppConfig>(APP_CONFIG);
  configureApp(app, config);
  app.enableShutdownHooks();
  await app.listen(config.port);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
