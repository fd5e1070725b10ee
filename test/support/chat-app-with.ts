import { ConsoleLogger, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { AppModule } from '../../src/app.module.js';
import { APP_HTTP_OPTIONS, configureApp } from '../../src/app.setup.js';
import { UsersService } from '../../src/auth/users.service.js';
import { APP_CONFIG } from '../../src/config/app-config.constants.js';
import { loadAppConfig } from '../../src/config/app-config.loader.js';
import type { RunningChatApp } from './chat-app.js';
import { signToken, TEST_SECRET } from './tokens.js';
import { WsTestClient } from './ws-test-client.js';

/** A ConsoleLogger that also keeps every `error` line, so specs can assert that none was logged. */
export class RecordingLogger extends ConsoleLogger {
  readonly errors: string[] = [];

  override error(message: unknown, ...rest: unknown[]): void {
    this.errors.push(
      [message, ...rest]
        .map((part) => (typeof part === 'string' ? part : String(part)))
        .join(' '),
    );
    if (this.printErrors) {
      super.error(message, ...rest);
    }
  }

  /** Whether recorded errors are also printed (off while a spec provokes them on purpose). */
  printErrors = true;
}

/** How to start the chat app beyond its environment. */
export interface ChatAppOptions {
  env?: Record<string, string>;
  /** Providers to replace, by token (e.g. the handshake storage). */
  overrides?: { token: unknown; value: unknown }[];
  /** Runs after `configureApp`, before `listen` (e.g. to shorten HTTP timeouts). */
  beforeListen?: (server: Server) => void;
}

/** {@link RunningChatApp} plus what the security specs need. */
export interface SecurityChatApp extends RunningChatApp {
  logger: RecordingLogger;
  /**
   * Creates users straight in the database (no password hashing, so hundreds take milliseconds)
   * and returns a token for each; they cannot log in with a password.
   */
  createUsers(names: string[]): Promise<Map<string, string>>;
}

/**
 * The real `AppModule`, started like `startChatApp` (in-memory SQLite, test secret, port 0), with
 * provider overrides, a hook before listen and a recording logger.
 */
export async function startChatAppWith(
  options: ChatAppOptions = {},
): Promise<SecurityChatApp> {
  const config = loadAppConfig({
    JWT_SECRET: TEST_SECRET,
    SQLITE_PATH: ':memory:',
    LOG_LEVEL: 'error',
    ...options.env,
  });
  let builder = Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(APP_CONFIG)
    .useValue(config);
  for (const { token, value } of options.overrides ?? []) {
    builder = builder.overrideProvider(token).useValue(value);
  }
  const moduleRef = await builder.compile();
  const logger = new RecordingLogger({ logLevels: config.logLevels });
  const app: INestApplication = moduleRef.createNestApplication({
    ...APP_HTTP_OPTIONS,
    logger,
  });
  configureApp(app, config);
  options.beforeListen?.(app.getHttpServer() as Server);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const clients: WsTestClient[] = [];
  const http = () => request(app.getHttpServer());
  const running: SecurityChatApp = {
    app,
    port,
    logger,
    url: (path = '/ws') => `ws://127.0.0.1:${port}${path}`,
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
    createUsers: async (names) => {
      const users = app.get(UsersService);
      const tokens = new Map<string, string>();
      for (const name of names) {
        if (!(await users.create(name, '$not-a-password-hash$'))) {
          throw new Error(`user ${name} already exists`);
        }
        tokens.set(name, signToken(name, 3600));
      }
      return tokens;
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
