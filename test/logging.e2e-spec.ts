import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { AppModule } from '../src/app.module.js';
import { APP_HTTP_OPTIONS, configureApp } from '../src/app.setup.js';
import { UsersService } from '../src/auth/users.service.js';
import { APP_CONFIG } from '../src/config/app-config.constants.js';
import { loadAppConfig } from '../src/config/app-config.loader.js';
import { CapturingLogger } from './support/capturing-logger.js';
import { signToken, TEST_SECRET } from './support/tokens.js';
import { WsTestClient } from './support/ws-test-client.js';

/**
 * What the chat server logs at LOG_LEVEL=verbose while clients connect with `?token=`, chat,
 * refresh, get refused and call HTTP routes with tokens in the query and the Authorization header.
 */
describe('Logs (e2e)', () => {
  let app: INestApplication;
  let logger: CapturingLogger;
  let port: number;

  beforeAll(async () => {
    const config = loadAppConfig({
      JWT_SECRET: TEST_SECRET,
      SQLITE_PATH: ':memory:',
      LOG_LEVEL: 'verbose',
    });
    logger = new CapturingLogger({ logLevels: config.logLevels });
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(config)
      .setLogger(logger)
      .compile();
    app = moduleRef.createNestApplication({ ...APP_HTTP_OPTIONS, logger });
    configureApp(app, config);
    await app.listen(0, '127.0.0.1');
    ({ port } = app.getHttpServer().address() as AddressInfo);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('never contains a token sent as ?token= (or in Authorization), and tags every WebSocket line with the connection id and user', async () => {
    const url = (path: string, token: string): string =>
      `ws://127.0.0.1:${port}${path}?token=${token}`;
    const token = signToken('alice', 600);
    const refreshToken = signToken('alice', 1200);
    const foreignToken = signToken('bob', 600);
    const invalidToken = `${signToken('alice', 600)}x`;
    const deletedToken = signToken('ghost-user', 600);
    await app.get(UsersService).create('ghost-user', '$not-a-hash$');
    await app.get(UsersService).delete('ghost-user');
    const tokens = [
      token,
      refreshToken,
      foreignToken,
      invalidToken,
      deletedToken,
    ];

    const client = new WsTestClient(url('/ws/logs', token));
    const welcome = await client.next('welcome');
    const connectionId = String(welcome.data.connectionId);
    await client.next('join');
    expect(
      (await client.request('message', { room: 'logs', text: 'hi' })).event,
    ).toBe('message');
    expect(
      (await client.request('refresh', { token: refreshToken })).event,
    ).toBe('refresh');
    expect(
      (await client.request('refresh', { token: foreignToken })).data.code,
    ).toBe('UNAUTHORIZED');
    client.sendRaw(`{"event": "message", "data": "${token}`);
    expect((await client.next('exception')).data.code).toBe('BAD_REQUEST');
    client.close();
    expect((await client.waitClosed()).code).toBe(1005);

    for (const refused of [invalidToken, deletedToken]) {
      const closed = await new WsTestClient(url('/ws', refused)).waitClosed();
      expect(closed.code).toBe(1008);
    }
    await request(app.getHttpServer())
      .get(`/auth/me?token=${token}&x=1`)
      .set('Authorization', `Bearer ${token}`)
      .expect(200);
    await request(app.getHttpServer())
      .get(`/nope?access_token=${token}`)
      .expect(404);
    await app.close();

    const lines = logger.lines;
    for (const secret of tokens) {
      const leaks = lines.filter((line) => line.includes(secret));
      expect(leaks).toEqual([]);
      // No part of a token either (its signature is the secret part).
      const signature = secret.split('.')[2] ?? secret;
      expect(lines.filter((line) => line.includes(signature))).toEqual([]);
    }

    const ofConnection = lines.filter((line) =>
      line.includes(`id=${connectionId}`),
    );
    expect(ofConnection).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          new RegExp(`^log open id=${connectionId} user=alice .*path=/ws/logs`),
        ),
        expect.stringMatching(
          new RegExp(
            `^debug message id=${connectionId} user=alice event=message outcome=ok duration=\\d`,
          ),
        ),
        expect.stringMatching(
          new RegExp(
            `^log closed id=${connectionId} user=alice code=1005 duration=\\d`,
          ),
        ),
      ]),
    );
    for (const line of ofConnection) {
      expect(line).toContain(`id=${connectionId} user=alice`);
    }
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^log GET \/auth\/me\?token=\[REDACTED\]&x=1 200 \d+\.\d{6}s id=[0-9a-f-]{36}/,
        ),
        expect.stringMatching(
          /^log GET \/nope\?access_token=\[REDACTED\] 404 \d+\.\d{6}s id=/,
        ),
      ]),
    );
  });
});
