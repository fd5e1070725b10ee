import jwt from 'jsonwebtoken';
import { signToken, TEST_SECRET } from './support/tokens.js';
import { startTestApp, type RunningTestApp } from './support/test-app.js';
import { WsTestClient } from './support/ws-test-client.js';

/** Connect-time pipeline: origin, handshake rate, capacity, auth, limits, queueing, paths. */
describe('WsMiddlewareAdapter connect pipeline (e2e)', () => {
  const clients: WsTestClient[] = [];
  const open = (
    url: string,
    protocols?: string | string[],
    headers?: Record<string, string>,
  ): WsTestClient => {
    const client = new WsTestClient(url, protocols, { headers });
    clients.push(client);
    return client;
  };

  afterEach(() => {
    for (const client of clients.splice(0)) {
      client.socket.terminate();
    }
  });

  describe('authentication', () => {
    let server: RunningTestApp;
    beforeAll(async () => {
      server = await startTestApp();
    });
    afterAll(async () => {
      await server.app.close();
    });

    const refusedWith = async (
      client: WsTestClient,
    ): Promise<{ code: number; reason: string }> => {
      const closed = await client.waitClosed();
      expect(client.frames).toEqual([]);
      return closed;
    };

    it('closes 1008 "Missing authentication token" without a token', async () => {
      expect(await refusedWith(open(server.url()))).toEqual({
        code: 1008,
        reason: 'Missing authentication token',
      });
    });

    it.each([
      ['junk', 'abc'],
      ['two parts', 'a.b'],
      ['10 KB of junk', 'x'.repeat(10_240)],
      [
        'wrong secret',
        signToken('alice', 600, {}, 'another-secret-another-secret-another'),
      ],
      [
        'HS512',
        jwt.sign(
          { sub: 'alice', exp: Math.floor(Date.now() / 1000) + 60 },
          TEST_SECRET,
          { algorithm: 'HS512' },
        ),
      ],
      [
        'no exp',
        jwt.sign({ sub: 'alice' }, TEST_SECRET, { algorithm: 'HS256' }),
      ],
      [
        'alg none',
        `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url')}.`,
      ],
    ])(
      'closes 1008 "Invalid authentication token" for %s',
      async (_name, token) => {
        const closed = await refusedWith(
          open(`${server.url()}?token=${encodeURIComponent(token)}`),
        );
        expect(closed).toEqual({
          code: 1008,
          reason: 'Invalid authentication token',
        });
      },
    );

    it('closes 1008 "Token expired" for an expired token', async () => {
      const token = jwt.sign(
        { sub: 'alice', exp: Math.floor(Date.now() / 1000) - 60 },
        TEST_SECRET,
        { algorithm: 'HS256' },
      );
      expect(await refusedWith(open(`${server.url()}?token=${token}`))).toEqual(
        {
          code: 1008,
          reason: 'Token expired',
        },
      );
    });

    it('closes 1008 "Invalid user" when the user no longer exists', async () => {
      expect(
        await refusedWith(open(`${server.url()}?token=${signToken('ghost')}`)),
      ).toEqual({
        code: 1008,
        reason: 'Invalid user',
      });
    });

    it('accepts the token from the Authorization header', async () => {
      const client = open(server.url(), undefined, {
        Authorization: `Bearer ${signToken('bob')}`,
      });
      expect((await client.next('welcome')).data.user).toBe('bob');
    });

    it('accepts the subprotocol carrier and selects "bearer", never the token', async () => {
      const client = open(server.url(), ['bearer', signToken('carol')]);
      expect((await client.next('welcome')).data.user).toBe('carol');
      expect(client.socket.protocol).toBe('bearer');
    });

    it('uses the first carrier present: a bad header is not replaced by a good query token', async () => {
      const client = open(
        `${server.url()}?token=${signToken('alice')}`,
        undefined,
        {
          Authorization: 'Bearer nope',
        },
      );
      expect(await client.waitClosed()).toEqual({
        code: 1008,
        reason: 'Invalid authentication token',
      });
    });

    it('serves /ws/<segment> and runs app middleware after acceptance, before queued frames', async () => {
      const client = open(
        `${server.url('/ws/lobby')}?token=${signToken('alice')}`,
      );
      client.socket.once('open', () =>
        client.emit('echo', { text: 'early' }, 1),
      );
      expect((await client.next()).event).toBe('welcome');
      expect(await client.next()).toEqual({
        event: 'join',
        data: { room: 'lobby' },
      });
      expect(await client.next()).toEqual({
        event: 'echo',
        id: 1,
        data: { text: 'early', dto: true },
      });
    });

    it('lets app middleware refuse with its own close code and reason', async () => {
      const client = open(
        `${server.url('/ws/forbidden')}?token=${signToken('alice')}`,
      );
      expect(await client.waitClosed()).toEqual({
        code: 1008,
        reason: 'Invalid room',
      });
    });

    it('answers 404 to upgrades on unknown paths, echoing a sane X-Request-Id', async () => {
      const client = open(
        `${server.url('/nope')}?token=${signToken('alice')}`,
        undefined,
        { 'X-Request-Id': 'trace-42' },
      );
      await client.waitClosed();
      expect(client.httpStatus).toBe(404);
      expect(client.httpHeaders['x-request-id']).toBe('trace-42');
      const insane = open(server.url('/nope'), undefined, {
        'X-Request-Id': 'bad id\twith spaces',
      });
      await insane.waitClosed();
      expect(insane.httpHeaders['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('frames sent before authentication completes', () => {
    let server: RunningTestApp;
    let releaseAuth: () => void = () => undefined;
    let authStarted: Promise<void>;
    let markStarted: () => void = () => undefined;

    beforeAll(async () => {
      server = await startTestApp({
        validateUser: async (claims) => {
          markStarted();
          await new Promise<void>((resolve) => {
            releaseAuth = resolve;
          });
          return { id: claims.sub };
        },
      });
    });
    afterAll(async () => {
      await server.app.close();
    });

    it('are handled in order once the connection is accepted, never dropped', async () => {
      authStarted = new Promise((resolve) => {
        markStarted = resolve;
      });
      const client = open(`${server.url()}?token=${signToken('alice')}`);
      await client.opened;
      for (let i = 1; i <= 5; i++) {
        client.emit('echo', { text: `m${i}` }, i);
      }
      client.emit('whoami', {}, 'who');
      await authStarted;
      releaseAuth();
      expect((await client.next()).event).toBe('welcome');
      for (let i = 1; i <= 5; i++) {
        expect(await client.next()).toEqual({
          event: 'echo',
          id: i,
          data: { text: `m${i}`, dto: true },
        });
      }
      expect((await client.next()).data).toMatchObject({ user: 'alice' });
    });
  });

  describe('origins', () => {
    let server: RunningTestApp;
    beforeAll(async () => {
      server = await startTestApp({
        allowedOrigins: ['http://allowed.example'],
      });
    });
    afterAll(async () => {
      await server.app.close();
    });

    it.each([
      'http://evil.example',
      'http://allowed.example.evil.com',
      'null',
      'http://allowed.example:8080',
    ])('refuses Origin %s with HTTP 403 before the upgrade', async (origin) => {
      const client = open(
        `${server.url()}?token=${signToken('alice')}`,
        undefined,
        { Origin: origin },
      );
      await client.waitClosed();
      expect(client.httpStatus).toBe(403);
      expect(client.httpHeaders['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(client.httpHeaders['x-process-time']).toMatch(/^\d+\.\d+$/);
    });

    it.each([
      ['a listed origin', 'http://allowed.example'],
      ['no Origin (non-browser client)', undefined],
    ])('accepts %s', async (_name, origin) => {
      const headers = origin ? { Origin: origin } : undefined;
      const client = open(
        `${server.url()}?token=${signToken('alice')}`,
        undefined,
        headers,
      );
      expect((await client.next('welcome')).data.user).toBe('alice');
    });

    it('accepts the same origin', async () => {
      const client = open(
        `${server.url()}?token=${signToken('alice')}`,
        undefined,
        {
          Origin: `http://127.0.0.1:${server.port}`,
        },
      );
      expect((await client.next('welcome')).data.user).toBe('alice');
    });
  });

  describe('limits', () => {
    let server: RunningTestApp;
    beforeAll(async () => {
      server = await startTestApp({
        connectRateLimit: 8,
        maxConnections: 4,
        maxConnectionsPerUser: 2,
        maxConnectionsPerIp: 3,
      });
    });
    afterAll(async () => {
      await server.app.close();
    });

    it('enforces per-user, per-IP, capacity and handshake-rate limits in that order', async () => {
      // 1-2: alice twice, 3: alice again -> per-user limit.
      const a1 = open(`${server.url()}?token=${signToken('alice')}`);
      const a2 = open(`${server.url()}?token=${signToken('alice')}`);
      await Promise.all([a1.next('welcome'), a2.next('welcome')]);
      const a3 = open(`${server.url()}?token=${signToken('alice')}`);
      expect(await a3.waitClosed()).toEqual({
        code: 1008,
        reason: 'Too many connections',
      });

      // 4: bob is the third from this IP; 5: carol is over the per-IP limit.
      const b1 = open(`${server.url()}?token=${signToken('bob')}`);
      await b1.next('welcome');
      const c1 = open(`${server.url()}?token=${signToken('carol')}`);
      expect(await c1.waitClosed()).toEqual({
        code: 1008,
        reason: 'Too many connections',
      });

      // Closing one releases its slots: carol now gets in.
      a1.close();
      await a1.waitClosed();
      const c2 = open(`${server.url()}?token=${signToken('carol')}`);
      expect((await c2.next('welcome')).data.user).toBe('carol');

      // 7, 8: handshakes 7 and 8 are within the rate; the 9th is refused with 429.
      const unauth1 = open(server.url());
      await unauth1.waitClosed();
      const unauth2 = open(server.url());
      await unauth2.waitClosed();
      const limited = open(server.url());
      await limited.waitClosed();
      expect(limited.httpStatus).toBe(429);
      expect(Number(limited.httpHeaders['retry-after'])).toBeGreaterThan(0);
      expect(limited.httpHeaders['x-process-time']).toMatch(/^\d+\.\d+$/);
    });
  });

  describe('capacity', () => {
    let server: RunningTestApp;
    beforeAll(async () => {
      server = await startTestApp({ maxConnections: 2 });
    });
    afterAll(async () => {
      await server.app.close();
    });

    it('closes 1013 "Server overloaded" past maxConnections, before authenticating', async () => {
      const first = open(`${server.url()}?token=${signToken('u1')}`);
      const second = open(`${server.url()}?token=${signToken('u2')}`);
      await Promise.all([first.next('welcome'), second.next('welcome')]);
      const third = open(server.url());
      expect(await third.waitClosed()).toEqual({
        code: 1013,
        reason: 'Server overloaded',
      });
    });
  });
});
