import { WS_HANDSHAKE_STORAGE, WsConnectionRegistry } from '@app/ws-middleware';
import {
  ThrottlerStorageService,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import {
  HTTP_HEADERS_TIMEOUT_MS,
  HTTP_REQUEST_TIMEOUT_MS,
  HTTP_TIMEOUT_CHECK_INTERVAL_MS,
} from '../../src/app.setup.js';
import { MemoryChatEngine } from '../../src/chat/engine/memory-chat.engine.js';
import { CHAT_ENGINE } from '../../src/chat/engine/chat-engine.interface.js';
import {
  startChatAppWith,
  type SecurityChatApp,
} from '../support/chat-app-with.js';
import { Opcode, rawHttp, RawWsClient } from '../support/raw-ws.js';
import { eventually, runPool, within } from '../support/security.js';

function upgradeRequest(port: number, path: string, extra: string[]): string {
  return [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    ...extra,
    '',
    '',
  ].join('\r\n');
}

/**
 * A handshake store whose minute lasts `60 / factor` seconds, so that a spec can see a refused
 * storm succeed "later" without waiting a minute. Everything else is the real in-memory storage.
 */
class CompressedHandshakeStorage implements ThrottlerStorage {
  private readonly inner = new ThrottlerStorageService();

  constructor(private readonly factor: number) {}

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ) {
    return this.inner.increment(
      key,
      ttl / this.factor,
      limit,
      blockDuration / this.factor,
      throttlerName,
    );
  }

  onApplicationShutdown(): void {
    this.inner.onApplicationShutdown();
  }
}

/**
 * Abuse of the HTTP upgrade itself stays cheap and harmless: oversized or odd headers are refused
 * (or ignored) at once, a slowloris upgrade is cut by the header timeout, and a reconnect storm is
 * shed with 429/1013 and then served in full, without duplicate presence.
 */
describe('Security: handshake abuse (e2e)', () => {
  describe('headers', () => {
    let chat: SecurityChatApp;
    let token: string;

    beforeAll(async () => {
      chat = await startChatAppWith();
      token = (await chat.createUsers(['hdr'])).get('hdr') ?? '';
    });

    afterEach(async () => {
      expect(chat.logger.errors.splice(0)).toEqual([]);
      const client = await chat.connect(token);
      expect((await client.request('ping', {})).event).toBe('ping');
      client.close();
      await client.waitClosed();
    });

    afterAll(async () => {
      await chat.close();
    });

    it('runs on an HTTP server configured to cut slow request heads', () => {
      const server = chat.app.getHttpServer() as Server & {
        connectionsCheckingInterval: number;
      };
      expect(server.headersTimeout).toBe(HTTP_HEADERS_TIMEOUT_MS);
      expect(server.requestTimeout).toBe(HTTP_REQUEST_TIMEOUT_MS);
      expect(server.connectionsCheckingInterval).toBe(
        HTTP_TIMEOUT_CHECK_INTERVAL_MS,
      );
      expect(HTTP_HEADERS_TIMEOUT_MS).toBeLessThanOrEqual(10_000);
    });

    it('answers 431 at once to 2,000 headers over the header size limit', async () => {
      const filler = Array.from(
        { length: 2000 },
        (_, i) => `X-Filler-${i}: ${'v'.repeat(8)}`,
      );
      const started = performance.now();
      const { response } = await rawHttp(
        chat.port,
        upgradeRequest(chat.port, `/ws?token=${token}`, filler),
        { untilClosed: true },
      );
      expect(response.status).toBe(431);
      expect(performance.now() - started).toBeLessThan(1000);
    });

    it('upgrades normally with 2,000 tiny headers within the size limit', async () => {
      const filler = Array.from(
        { length: 2000 },
        (_, i) => `x${i.toString(36)}: 1`,
      );
      const raw = await RawWsClient.open(chat.port, `/ws?token=${token}`, {
        headers: filler,
      });
      expect(raw.response.status).toBe(101);
      expect((await raw.next('welcome')).data.user).toBe('hdr');
      raw.socket.destroy();
    });

    it('ignores a 12 KB Sec-WebSocket-Protocol list without "bearer" and selects nothing', async () => {
      const protocols = Array.from({ length: 2000 }, (_, i) => `p${i}`).join(
        ', ',
      );
      expect(protocols.length).toBeGreaterThan(12_000);
      const raw = await RawWsClient.open(chat.port, `/ws?token=${token}`, {
        headers: [`Sec-WebSocket-Protocol: ${protocols}`],
      });
      expect(raw.response.status).toBe(101);
      expect(raw.response.headers).not.toHaveProperty('sec-websocket-protocol');
      expect((await raw.next('welcome')).data.user).toBe('hdr');
      raw.socket.destroy();
    });

    it('refuses a 12 KB token in the subprotocol carrier (1008), never echoing it', async () => {
      const huge = 'x'.repeat(12_000);
      const raw = await RawWsClient.open(chat.port, '/ws', {
        headers: [`Sec-WebSocket-Protocol: bearer, ${huge}`],
      });
      expect(raw.response.status).toBe(101);
      expect(raw.response.headers['sec-websocket-protocol']).toBe('bearer');
      expect(await raw.waitClosed()).toEqual({
        code: 1008,
        reason: 'Invalid authentication token',
      });
      expect(raw.messages).toEqual([]);
    });

    it('answers 400 to a malformed Sec-WebSocket-Protocol', async () => {
      const { response } = await rawHttp(
        chat.port,
        upgradeRequest(chat.port, `/ws?token=${token}`, [
          'Sec-WebSocket-Protocol: bearer, a b',
        ]),
        { untilClosed: true },
      );
      expect(response.status).toBe(400);
    });

    it.each([
      'constructor',
      '__proto__; constructor=1',
      'permessage-deflate; __proto__=1; constructor; client_max_window_bits',
      'toString, hasOwnProperty, valueOf',
      'permessage-deflate; server_max_window_bits=99999999999999999999',
    ])(
      'ignores Sec-WebSocket-Extensions: %s (no extension negotiated)',
      async (extensions) => {
        const raw = await RawWsClient.open(chat.port, `/ws?token=${token}`, {
          headers: [`Sec-WebSocket-Extensions: ${extensions}`],
        });
        expect(raw.response.status).toBe(101);
        expect(raw.response.headers).not.toHaveProperty(
          'sec-websocket-extensions',
        );
        expect((await raw.next('welcome')).data.user).toBe('hdr');
        raw.socket.destroy();
      },
    );
  });

  describe('slowloris', () => {
    describe('with the timeouts scaled down', () => {
      let chat: SecurityChatApp;
      let token: string;

      beforeAll(async () => {
        // The same mechanism as in production, at 1/20 of the time.
        chat = await startChatAppWith({
          beforeListen: (server) => {
            server.headersTimeout = 500;
            server.requestTimeout = 1000;
            (
              server as Server & { connectionsCheckingInterval: number }
            ).connectionsCheckingInterval = 50;
          },
        });
        token = (await chat.createUsers(['patient'])).get('patient') ?? '';
      });

      afterAll(async () => {
        await chat.close();
      });

      it('answers 408 and closes an upgrade whose headers trickle in, while serving others', async () => {
        const request = upgradeRequest(chat.port, `/ws?token=${token}`, [
          'X-Slow: 1',
        ]);
        const socket = connect(chat.port, '127.0.0.1');
        socket.on('error', () => undefined);
        let received = '';
        socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
        const closed = new Promise<void>((resolve) =>
          socket.on('close', () => resolve()),
        );
        const started = performance.now();
        let sent = 0;
        // One byte every 20 ms: the head would take seconds, never the final CRLF.
        const drip = setInterval(() => {
          if (sent < request.length - 2 && !socket.destroyed) {
            socket.write(request[sent++]);
          }
        }, 20);
        try {
          const client = await chat.connect(token);
          expect((await client.request('ping', {})).event).toBe('ping');
          await within(closed, 3000, 'the server to cut the slow upgrade');
        } finally {
          clearInterval(drip);
        }
        expect(received).toMatch(/^HTTP\/1\.1 408 /);
        expect(performance.now() - started).toBeLessThan(1500);
        expect(sent).toBeLessThan(request.length - 2);
      });

      it('answers 408 and closes a connection that never sends a byte', async () => {
        const socket = connect(chat.port, '127.0.0.1');
        socket.on('error', () => undefined);
        let received = '';
        socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
        const closed = new Promise<void>((resolve) =>
          socket.on('close', () => resolve()),
        );
        await within(closed, 3000, 'the server to close an idle connection');
        expect(received).toMatch(/^HTTP\/1\.1 408 /);
      });
    });
  });

  describe('reconnect storm', () => {
    const USERS = 100;
    const ATTEMPTS_PER_USER = 20;
    const IPS = 20;
    /** Room for every user once (and the watcher), not for every attempt. */
    const CAPACITY = 120;
    const RATE_PER_IP = 60;
    /** The handshake minute lasts 2 s here (one address bursts through in about 0.25 s). */
    const COMPRESSION = 30;
    /** Handshakes in flight at once: below Node's listen backlog (511), so no SYN is dropped. */
    const IN_FLIGHT = 400;
    const handshakeStorage = new CompressedHandshakeStorage(COMPRESSION);
    let chat: SecurityChatApp;
    let registry: WsConnectionRegistry;
    let tokens: Map<string, string>;
    const raws: RawWsClient[] = [];

    const ipOf = (user: number): string => `127.0.0.${10 + (user % IPS)}`;

    /** One handshake, as raw as the clients of a restarting fleet: how it ended, and the socket. */
    const attempt = async (
      user: number,
    ): Promise<{ outcome: string; raw: RawWsClient }> => {
      const raw = await RawWsClient.open(
        chat.port,
        `/ws/storm?token=${tokens.get(`storm${user}`) ?? ''}`,
        { localAddress: ipOf(user), timeoutMs: 15_000 },
      );
      raws.push(raw);
      if (raw.response.status !== 101) {
        raw.socket.destroy();
        return { outcome: `http ${raw.response.status}`, raw };
      }
      const welcomed = await raw
        .next('welcome', 15_000)
        .then(() => true)
        .catch(() => false);
      if (welcomed) {
        return { outcome: 'welcome', raw };
      }
      const { code, reason } = await raw.waitClosed(15_000);
      return { outcome: `close ${code} ${reason}`, raw };
    };

    beforeAll(async () => {
      chat = await startChatAppWith({
        env: {
          WS_MAX_CONNECTIONS: String(CAPACITY),
          WS_CONNECT_RATE_LIMIT: String(RATE_PER_IP),
          WS_MAX_CONNECTIONS_PER_IP: '10000',
        },
        overrides: [{ token: WS_HANDSHAKE_STORAGE, value: handshakeStorage }],
      });
      registry = chat.app.get(WsConnectionRegistry);
      tokens = await chat.createUsers(
        Array.from({ length: USERS }, (_, i) => `storm${i}`).concat('watcher'),
      );
    });

    afterAll(async () => {
      for (const raw of raws) {
        raw.socket.destroy();
      }
      await chat.close();
      // Nest runs no lifecycle hook on a `useValue` override.
      handshakeStorage.onApplicationShutdown();
    });

    it('sheds 2,000 handshakes with 429/1013, then serves every user once, without duplicate presence', async () => {
      const watcher = await chat.connect(
        tokens.get('watcher') ?? '',
        '/ws/storm',
      );
      await watcher.next('join');

      // The storm: every user reconnects 20 times at once; the 20 addresses (5 users each) come
      // one after the other, so that each address bursts past its handshake rate.
      const plan: number[] = [];
      for (let ip = 0; ip < IPS; ip++) {
        for (let user = ip; user < USERS; user += IPS) {
          for (let round = 0; round < ATTEMPTS_PER_USER; round++) {
            plan.push(user);
          }
        }
      }
      expect(plan).toHaveLength(2000);
      const results: { outcome: string; raw: RawWsClient }[] = [];
      await runPool(plan.length, IN_FLIGHT, async (index) => {
        results[index] = await attempt(plan[index]);
      });
      const tally: Record<string, number> = {};
      for (const { outcome } of results) {
        tally[outcome] = (tally[outcome] ?? 0) + 1;
      }
      expect(Object.keys(tally)).toEqual(
        expect.arrayContaining(['close 1013 Server overloaded', 'http 429']),
      );
      for (const outcome of Object.keys(tally)) {
        expect([
          'welcome',
          'http 429',
          'close 1013 Server overloaded',
          'close 1008 Too many connections',
        ]).toContain(outcome);
      }
      expect(tally.welcome ?? 0).toBeLessThanOrEqual(CAPACITY);
      for (const { outcome, raw } of results) {
        if (outcome === 'http 429') {
          expect(Number(raw.response.headers['retry-after'])).toBeGreaterThan(
            0,
          );
        }
      }

      // Each user keeps one connection and closes its duplicates, as a client library does.
      const kept = new Map<number, RawWsClient>();
      results.forEach(({ outcome, raw }, index) => {
        if (outcome !== 'welcome') {
          return;
        }
        if (kept.has(plan[index])) {
          raw.sendFrame({
            opcode: Opcode.CLOSE,
            payload: Buffer.from([0x03, 0xe8]),
          });
        } else {
          kept.set(plan[index], raw);
        }
      });
      await eventually(
        () => registry.size === kept.size + 1,
        'the duplicate connections to close',
        10_000,
        () => registry.size,
      );

      // The rest retry, after Retry-After when refused with 429, until they are in.
      const deadline = Date.now() + 20_000;
      const missing = (): number[] =>
        Array.from({ length: USERS }, (_, user) => user).filter(
          (user) => !kept.has(user),
        );
      while (missing().length > 0) {
        expect(Date.now()).toBeLessThan(deadline);
        const retries = missing();
        const retried = await Promise.all(retries.map((user) => attempt(user)));
        let wait = 100;
        retried.forEach(({ outcome, raw }, index) => {
          if (outcome === 'welcome') {
            kept.set(retries[index], raw);
          } else if (outcome === 'http 429') {
            wait = Math.max(
              wait,
              Number(raw.response.headers['retry-after']) * 1000,
            );
          }
        });
        if (missing().length > 0) {
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }

      // Every user is in exactly once: one connection, one member entry, one presence join.
      await eventually(
        () => registry.size === USERS + 1,
        'every user to hold exactly one connection',
        5000,
        () => registry.size,
      );
      const members = await watcher.request('members', { room: 'storm' });
      const names = (members.data.members as { user: string }[]).map(
        (member) => member.user,
      );
      expect(names).toHaveLength(USERS + 1);
      expect(new Set(names).size).toBe(USERS + 1);
      const joins = new Map<string, number>();
      for (const frame of watcher.frames) {
        if (frame.event === 'presence') {
          expect(frame.data.action).toBe('join');
          const user = String(frame.data.user);
          joins.set(user, (joins.get(user) ?? 0) + 1);
        }
      }
      expect([...joins.values()].every((count) => count === 1)).toBe(true);
      // Every storm user, and the watcher itself (presence goes to the joining user too).
      expect(joins.size).toBe(USERS + 1);
      const engine = chat.app.get<MemoryChatEngine>(CHAT_ENGINE);
      expect(engine.sizes.users).toBe(USERS + 1);
      // Still answering at once after all that.
      expect((await watcher.request('ping', {})).event).toBe('ping');
      expect(chat.logger.errors).toEqual([]);
    }, 90_000);
  });
});
