import type { INestApplication, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  WsMiddlewareAdapter,
  type WsMiddlewareModuleOptions,
} from '@app/ws-middleware';
import type { AddressInfo } from 'node:net';
import { TestAppModule } from './test.gateway.js';

/** A running test app on an ephemeral port. */
export interface RunningTestApp {
  app: INestApplication;
  port: number;
  /** `ws://127.0.0.1:<port><path>` */
  url(path?: string): string;
}

/**
 * Starts the test gateway app on port 0 with the given library options (and a logger of the
 * spec's, set before the providers are created, to see what the library logs).
 */
export async function startTestApp(
  overrides: Partial<WsMiddlewareModuleOptions> = {},
  logger?: LoggerService,
): Promise<RunningTestApp> {
  let builder = Test.createTestingModule({
    imports: [TestAppModule.register(overrides)],
  });
  if (logger) {
    builder = builder.setLogger(logger);
  }
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication({
    logger: logger ?? ['error', 'warn'],
  });
  app.useWebSocketAdapter(new WsMiddlewareAdapter(app));
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, port, url: (path = '/ws') => `ws://127.0.0.1:${port}${path}` };
}
