import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { AppModule } from '../../src/app.module.js';
import { APP_HTTP_OPTIONS, configureApp } from '../../src/app.setup.js';
import { APP_CONFIG } from '../../src/config/app-config.constants.js';
import { loadAppConfig } from '../../src/config/app-config.loader.js';
import { TEST_SECRET } from './tokens.js';
import { WsTestClient } from './ws-test-client.js';

/** The real chat server on an ephemeral port, configured as from the environment. */
export interface RunningChatApp {
  app: INestApplication;
  port: number;
  url(path?: string): string;
  http(): ReturnType<typeof request>;
  /** `POST /token` with form data, as the seed does; returns the access token. */
  login(username: string, password: string): Promise<string>;
  /** Registers a user (password `password123`) and returns a token. */
  register(username: string): Promise<string>;
  /** Connects with a token and waits for the welcome. */
  connect(token: string, path?: string): Promise<WsTestClient>;
  close(): Promise<void>;
}

/**
 * Starts `AppModule` with the given environment (defaults: in-memory SQLite, test secret), on an
 * ephemeral port unless `port` is given (to restart a server where its clients expect it).
 */
export async function startChatApp(
  env: Record<string, string> = {},
  port = 0,
): Promise<RunningChatApp> {
  const config = loadAppConfig({
    JWT_SECRET: TEST_SECRET,
    SQLITE_PATH: ':memory:',
    LOG_LEVEL: 'error',
    ...env,
  });
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(APP_CONFIG)
    .useValue(config)
    .compile();
  const app = moduleRef.createNestApplication({
    ...APP_HTTP_OPTIONS,
    logger: config.logLevels,
  });
  configureApp(app, config);
  await app.listen(port, '127.0.0.1');
  const { port: boundPort } = app.getHttpServer().address() as AddressInfo;
  const clients: WsTestClient[] = [];
  const http = () => request(app.getHttpServer());
  const running: RunningChatApp = {
    app,
    port: boundPort,
    url: (path = '/ws') => `ws://127.0.0.1:${boundPort}${path}`,
    http,
    login: async (username, password) => {
      const response = await http()
        .post('/token')
        .type('form')
        .send({ username, password })
        .expect(200);
      return (response.body as { access_token: string }).access_token;
    },
    register: async (username) => {
      await http()
        .post('/auth/register')
        .send({ username, password: 'password123' })
        .expect(201);
      return running.login(username, 'password123');
    },
    connect: async (token, path = '/ws') => {
      const client = new WsTestClient(`${running.url(path)}?token=${token}`);
      clients.push(client);
      await client.next('welcome');
      return client;
    },
    close: async () => {
      for (const client of clients) {
        client.socket.terminate();
      }
      await app.close();
    },
  };
  return running;
}
