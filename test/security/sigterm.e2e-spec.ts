import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import {
  builtServerEntry,
  freePort,
  spawnServer,
  type ServerProcess,
} from '../support/built-server.js';
import { Opcode, RawWsClient } from '../support/raw-ws.js';
import { eventually, within } from '../support/security.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';
import { WsTestClient, type Frame } from '../support/ws-test-client.js';

/** The library's default `shutdownTimeoutMs`, plus start-up of the exit path. */
const EXIT_DEADLINE_MS = 5000 + 3000;

function healthStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const request = get(
      { host: '127.0.0.1', port, path: '/health', timeout: 1000 },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.on('error', () => resolve(0));
    request.on('timeout', () => {
      request.destroy();
      resolve(0);
    });
  });
}

/**
 * SIGTERM on the real, built server process (`node dist/src/main.js`): new upgrades are refused
 * while it drains, every client receives 1001, every message it acknowledged is in the database
 * afterwards, and it exits within its deadline.
 */
describe('Security: SIGTERM on the built server (e2e)', () => {
  const database = join(
    tmpdir(),
    `ws-sigterm-${process.pid}-${randomBytes(4).toString('hex')}.sqlite`,
  );
  let entry: string;
  let server: ServerProcess | undefined;
  const clients: WsTestClient[] = [];

  beforeAll(async () => {
    entry = await builtServerEntry();
  }, 180_000);

  afterAll(() => {
    for (const client of clients) {
      client.socket.terminate();
    }
    const child = server?.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
    for (const suffix of ['', '-wal', '-shm']) {
      rmSync(`${database}${suffix}`, { force: true });
    }
  });

  it('refuses new upgrades, closes every client 1001, keeps every acknowledged message and exits in time', async () => {
    const port = await freePort();
    const running = spawnServer(entry, {
      PORT: String(port),
      SQLITE_PATH: database,
      JWT_SECRET: TEST_SECRET,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DEMO_USERS: 'true',
      WS_RATE_LIMIT: '100000',
    });
    server = running;
    await eventually(
      async () => {
        if (running.child.exitCode !== null) {
          throw new Error(`the server exited: ${running.output()}`);
        }
        return (await healthStatus(port)) === 200;
      },
      'the built server to answer GET /health',
      20_000,
      () => running.output().slice(-500),
    );
    const url = (user: string) =>
      `ws://127.0.0.1:${port}/ws/shutdown?token=${signToken(user)}`;

    // Six clients send messages without pause; each acknowledgement is recorded.
    for (const user of ['alice', 'alice', 'alice', 'bob', 'bob', 'bob']) {
      const client = new WsTestClient(url(user));
      clients.push(client);
      await client.next('join', 5000);
    }
    // One more never answers the close frame, which keeps the drain open long enough to see a
    // new upgrade refused.
    const stubborn = await RawWsClient.open(
      port,
      `/ws?token=${signToken('alice')}`,
    );
    stubborn.replyToClose = false;
    await stubborn.next('welcome');

    const acked: { id: string; text: string }[] = [];
    const refused: Frame[] = [];
    const senders = clients.map(async (client, index) => {
      for (let n = 0; ; n++) {
        const text = `client ${index} message ${n}`;
        let reply: Frame;
        try {
          reply = await client.request('message', { room: 'shutdown', text });
        } catch {
          return; // closed by the shutdown
        }
        if (reply.event === 'message') {
          acked.push({ id: String(reply.data.id), text });
        } else {
          refused.push(reply);
        }
      }
    });
    await eventually(
      () => acked.length >= 60,
      'sixty acknowledged messages before SIGTERM',
      10_000,
      () => acked.length,
    );

    const killedAt = performance.now();
    running.child.kill('SIGTERM');

    // Draining has begun once the first close frame arrives; from then on upgrades are refused.
    expect(await stubborn.waitCloseFrame(5000)).toEqual({
      code: 1001,
      reason: 'Server shutting down',
    });
    const late = new WsTestClient(url('bob'));
    clients.push(late);
    await late.waitClosed(3000);
    expect(late.httpStatus).toBe(503);
    expect(late.frames).toEqual([]);

    for (const client of clients.slice(0, 6)) {
      expect(await client.waitClosed(5000)).toEqual({
        code: 1001,
        reason: 'Server shutting down',
      });
    }
    // The stubborn client finally answers, so the drain ends before its timeout.
    stubborn.sendFrame({
      opcode: Opcode.CLOSE,
      payload: Buffer.from([3, 233]),
    });
    const exit = await within(
      running.exited,
      EXIT_DEADLINE_MS,
      `the process to exit after SIGTERM; output: ${running.output().slice(-1000)}`,
    );
    const exitMs = performance.now() - killedAt;
    await within(Promise.all(senders), 5000, 'the senders to stop');
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    expect(exitMs).toBeLessThan(EXIT_DEADLINE_MS);
    expect(refused).toEqual([]);
    expect(running.output()).not.toMatch(/ERROR/);

    // Every acknowledged message is in the database the process left behind.
    const reader = await new DataSource({
      type: 'better-sqlite3',
      database,
      readonly: true,
    }).initialize();
    try {
      const rows = (await reader.query(
        "SELECT id, text FROM messages WHERE kind = 'room' AND room = 'shutdown'",
      )) as { id: number | string; text: string }[];
      const stored = new Map(rows.map((row) => [String(row.id), row.text]));
      expect(acked.length).toBeGreaterThanOrEqual(60);
      for (const { id, text } of acked) {
        expect(stored.get(id)).toBe(text);
      }
    } finally {
      await reader.destroy();
    }
  }, 60_000);
});
