import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import {
  builtServerEntry,
  freePort,
  spawnServer,
  type ServerProcess,
} from './support/built-server.js';
import { eventually, within } from './support/security.js';
import { WsTestClient } from './support/ws-test-client.js';

const START_TIMEOUT_MS = 20_000;
const EXIT_TIMEOUT_MS = 10_000;

/**
 * The built server (`node dist/src/main.js`, what `npm start` runs) with NODE_ENV=production: it
 * refuses to start without a JWT_SECRET of at least 32 characters, and once started it logs JSON
 * lines only, seeds no demo users and never logs a token.
 */
describe('Production start-up of the built server (e2e)', () => {
  const database = join(
    tmpdir(),
    `ws-production-${process.pid}-${randomBytes(4).toString('hex')}.sqlite`,
  );
  let entry: string;
  const servers: ServerProcess[] = [];

  const start = (env: Record<string, string>): ServerProcess => {
    const server = spawnServer(entry, {
      NODE_ENV: 'production',
      SQLITE_PATH: database,
      ...env,
    });
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    entry = await builtServerEntry();
  }, 180_000);

  afterAll(() => {
    for (const { child } of servers) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
      }
    }
    for (const suffix of ['', '-wal', '-shm']) {
      rmSync(`${database}${suffix}`, { force: true });
    }
  });

  it.each([
    ['without JWT_SECRET', {}, /JWT_SECRET is required/],
    [
      'with a JWT_SECRET of 31 characters',
      { JWT_SECRET: 's'.repeat(31) },
      /JWT_SECRET \(value hidden\) must be at least 32 characters/,
    ],
  ])('refuses to start %s', async (_case, env, message) => {
    const server = start({ PORT: String(await freePort()), ...env });
    const exit = await within(
      server.exited,
      EXIT_TIMEOUT_MS,
      'the server to exit',
    );
    expect(exit.code).toBe(1);
    expect(server.output()).toMatch(message);
    expect(server.output()).not.toContain('s'.repeat(31));
  });

  it('logs JSON lines only, seeds no demo users and never logs a ?token=', async () => {
    const port = await freePort();
    const server = start({
      PORT: String(port),
      JWT_SECRET: randomBytes(32).toString('base64url'),
      LOG_LEVEL: 'debug',
    });
    const http = `http://127.0.0.1:${port}`;
    await eventually(
      async () => {
        if (server.child.exitCode !== null) {
          throw new Error(`the server exited: ${server.output()}`);
        }
        try {
          return (await request(http).get('/health')).status === 200;
        } catch {
          return false;
        }
      },
      'the built server to answer GET /health',
      START_TIMEOUT_MS,
      () => server.output().slice(-500),
    );

    await request(http)
      .post('/token')
      .type('form')
      .send({ username: 'alice', password: 'wonderland' })
      .expect(401);
    await request(http)
      .post('/auth/register')
      .send({ username: 'prod-user', password: 'password123' })
      .expect(201);
    const token = (
      (
        await request(http)
          .post('/token')
          .type('form')
          .send({ username: 'prod-user', password: 'password123' })
          .expect(200)
      ).body as { access_token: string }
    ).access_token;
    const client = new WsTestClient(
      `ws://127.0.0.1:${port}/ws/prod?token=${token}`,
    );
    const welcome = await client.next('welcome', 5000);
    await client.next('join', 5000);
    expect(
      (await client.request('message', { room: 'prod', text: 'hello' })).event,
    ).toBe('message');
    await request(http).get(`/auth/me?token=${token}`).expect(401);

    server.child.kill('SIGTERM');
    expect((await client.waitClosed(EXIT_TIMEOUT_MS)).code).toBe(1001);
    await within(server.exited, EXIT_TIMEOUT_MS, 'the server to exit');

    const output = server.output();
    expect(output).not.toContain(token);
    expect(output).not.toContain(token.split('.')[2]);
    const lines = output.split('\n').filter((line) => line.trim() !== '');
    const entries = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
    for (const entry of entries) {
      expect(entry).toMatchObject({
        level: expect.any(String),
        message: expect.anything(),
      });
    }
    const messages = entries.map((entry) => String(entry.message));
    const id = String(welcome.data.connectionId);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^open id=${id} user=prod-user `)),
        expect.stringMatching(
          new RegExp(`^message id=${id} user=prod-user event=message `),
        ),
        expect.stringMatching(
          new RegExp(`^closed id=${id} user=prod-user code=1001 `),
        ),
        expect.stringMatching(/^GET \/auth\/me\?token=\[REDACTED\] 401 /),
      ]),
    );
    expect(messages.some((message) => message.startsWith('Demo users'))).toBe(
      false,
    );
  }, 60_000);
});
