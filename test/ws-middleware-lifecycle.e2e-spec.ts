import { Injectable } from '@nestjs/common';
import {
  WsConnectionRegistry,
  type WsConnectionContext,
  type WsConnectionMiddleware,
} from '@app/ws-middleware';
import jwt from 'jsonwebtoken';
import { signToken, TEST_SECRET } from './support/tokens.js';
import { startTestApp, type RunningTestApp } from './support/test-app.js';
import { WsTestClient } from './support/ws-test-client.js';

const shortToken = (sub: string, seconds: number): string =>
  jwt.sign({ sub, exp: Math.floor(Date.now() / 1000) + seconds }, TEST_SECRET, {
    algorithm: 'HS256',
  });

/** Polls `condition` (state with no event to await) until true, bounded by `timeoutMs`. */
async function until(
  condition: () => boolean,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Expiry, heartbeat, backpressure and graceful shutdown. */
describe('WsMiddlewareAdapter lifecycle (e2e)', () => {
  const clients: WsTestClient[] = [];
  const connect = async (url: string, options = {}): Promise<WsTestClient> => {
    const client = new WsTestClient(url, undefined, options);
    clients.push(client);
    await client.next('welcome');
    return client;
  };

  afterEach(() => {
    for (const client of clients.splice(0)) {
      client.socket.terminate();
    }
  });

  describe('token expiry', () => {
    let server: RunningTestApp;
    beforeAll(async () => {
      server = await startTestApp({ clockToleranceSec: 0 });
    });
    afterAll(async () => {
      await server.app.close();
    });

    it('closes 1008 "Token expired" at exp unless a refresh arrived', async () => {
      const token = shortToken('ivy', 2);
      const plain = await connect(`${server.url()}?token=${token}`);
      const refreshed = await connect(`${server.url()}?token=${token}`);
      const reply = await refreshed.request('refresh', {
        token: signToken('ivy', 600),
      });
      expect(reply.event).toBe('refresh');

      expect(await plain.waitClosed(5000)).toEqual({
        code: 1008,
        reason: 'Token expired',
      });
      // The deadline has passed for both: the refreshed connection still answers.
      expect((await refreshed.request('ping', {})).event).toBe('ping');
    });
  });

  describe('token expiry within the clock tolerance', () => {
    let server: RunningTestApp;
    beforeAll(async () => {
      server = await startTestApp({ clockToleranceSec: 3 });
    });
    afterAll(async () => {
      await server.app.close();
    });

    it('handles the messages of a token accepted within the tolerance, then closes 1008 "Token expired" at exp + tolerance', async () => {
      const exp = Math.floor(Date.now() / 1000) - 1;
      const token = jwt.sign({ sub: 'late', exp }, TEST_SECRET, {
        algorithm: 'HS256',
      });
      const client = await connect(`${server.url()}?token=${token}`);
      // WsAuthGuard runs on echo (not @WsPublic()): same tolerance as the handshake.
      expect(await client.request('echo', { text: 'still here' })).toEqual({
        event: 'echo',
        id: expect.anything(),
        data: { text: 'still here', dto: true },
      });
      expect(await client.waitClosed(5000)).toEqual({
        code: 1008,
        reason: 'Token expired',
      });
      expect(Date.now()).toBeGreaterThanOrEqual((exp + 3) * 1000 - 50);
    });
  });

  describe('heartbeat', () => {
    let server: RunningTestApp;
    beforeAll(async () => {
      server = await startTestApp({ heartbeatMs: 100 });
    });
    afterAll(async () => {
      await server.app.close();
    });

    it('terminates a client that misses two pings, without a close frame, and keeps live ones', async () => {
      const live = await connect(`${server.url()}?token=${signToken('live')}`);
      const silent = await connect(
        `${server.url()}?token=${signToken('silent')}`,
        {
          autoPong: false,
        },
      );
      let pings = 0;
      silent.socket.on('ping', () => pings++);
      const closed = await silent.waitClosed(3000);
      expect(closed.code).toBe(1006);
      expect(pings).toBeGreaterThanOrEqual(2);
      expect((await live.request('ping', {})).event).toBe('ping');
    });
  });

  describe('backpressure', () => {
    let server: RunningTestApp;
    beforeAll(async () => {
      server = await startTestApp();
    });
    afterAll(async () => {
      await server.app.close();
    });

    it('closes 1008 "Slow consumer" when more than 1 MiB is queued unread', async () => {
      const client = await connect(
        `${server.url()}?token=${signToken('slow')}`,
      );
      const tcp = (
        client.socket as unknown as {
          _socket: { pause(): void; resume(): void };
        }
      )._socket;
      tcp.pause();
      // 40 x 16 x 32 KB = 20 MiB, far more than the kernel buffers hold.
      for (let i = 0; i < 40; i++) {
        client.emit('flood', { count: 16, size: 32_768 });
      }
      const fast = await connect(`${server.url()}?token=${signToken('fast')}`);
      expect((await fast.request('ping', {})).event).toBe('ping');
      // The client stays unread until the server has given up on it: resuming as soon as the
      // other client is served raced the server still working through the 40 floods, one per
      // event-loop turn, so the client read everything and was never a slow consumer.
      const registry = server.app.get(WsConnectionRegistry, { strict: false });
      const serverSide = [...registry.all()].find(
        (connection) => connection.user?.id === 'slow',
      );
      await until(
        () => serverSide?.isOpen === false,
        'the server to close the unread connection',
        10_000,
      );
      tcp.resume();
      expect(await client.waitClosed(10_000)).toEqual({
        code: 1008,
        reason: 'Slow consumer',
      });
      const received = client.frames.filter(
        (frame) => frame.event === 'blob',
      ).length;
      expect(received).toBeLessThan(40 * 16);
    });
  });

  describe('graceful shutdown', () => {
    it('closes clients 1001, refuses new upgrades and awaits close hooks before finishing', async () => {
      let releaseHook: () => void = () => undefined;
      const hookGate = new Promise<void>((resolve) => {
        releaseHook = resolve;
      });
      let hookDone = false;
      @Injectable()
      class SlowCloseHookMiddleware implements WsConnectionMiddleware {
        async use(
          connection: WsConnectionContext,
          next: () => Promise<void>,
        ): Promise<void> {
          connection.onClose(async () => {
            await hookGate;
            hookDone = true;
          });
          await next();
        }
      }
      const server = await startTestApp({
        connectionMiddleware: [SlowCloseHookMiddleware],
      });
      const a = await connect(`${server.url()}?token=${signToken('a')}`);
      const b = await connect(
        `${server.url('/ws/room')}?token=${signToken('b')}`,
      );
      let finished = false;
      const closing = server.app.close().then(() => {
        finished = true;
      });
      expect(await a.waitClosed()).toEqual({
        code: 1001,
        reason: 'Server shutting down',
      });
      expect(await b.waitClosed()).toEqual({
        code: 1001,
        reason: 'Server shutting down',
      });

      const late = new WsTestClient(
        `${server.url()}?token=${signToken('late')}`,
      );
      await late.waitClosed();
      expect(late.httpStatus).toBe(503);
      expect(finished).toBe(false);

      releaseHook();
      await closing;
      expect(hookDone).toBe(true);
    });
  });
});
