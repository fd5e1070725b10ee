import {
  ChatClient,
  ChatClientError,
  type ChatClientEvents,
  type ChatClientOptions,
  type ChatMessage,
  type MessageMeta,
  type WebSocketConstructor,
} from '@app/ws-client';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { startChatApp, type RunningChatApp } from './support/chat-app.js';
import { signToken } from './support/tokens.js';

const isoDate = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);

/** The next `event` of `client` matching `predicate`, bounded. */
function nextEvent<E extends keyof ChatClientEvents>(
  client: ChatClient,
  event: E,
  predicate: (...args: ChatClientEvents[E]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<ChatClientEvents[E]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(
        new Error(`timed out after ${timeoutMs} ms waiting for "${event}"`),
      );
    }, timeoutMs);
    const off = client.on(event, (...args: ChatClientEvents[E]) => {
      if (predicate(...args)) {
        clearTimeout(timer);
        off();
        resolve(args);
      }
    });
  });
}

/** Polls `predicate` until true, bounded. */
async function until(
  predicate: () => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `ws`'s WebSocket, counting the attempts and refusing to connect while `gate.open` is false. */
function gatedWebSocket(gate: { open: boolean; attempts: number }) {
  return class GatedWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      gate.attempts += 1;
      if (!gate.open) {
        throw new Error('network unreachable (test gate)');
      }
      super(url, protocols);
    }
  } as unknown as WebSocketConstructor;
}

/** Every message a client delivered, with its source. */
function recordMessages(client: ChatClient): [ChatMessage, MessageMeta][] {
  const delivered: [ChatMessage, MessageMeta][] = [];
  client.on('message', (message, meta) => delivered.push([message, meta]));
  client.on('private', (message, meta) => delivered.push([message, meta]));
  return delivered;
}

describe('ChatClient against the chat server (e2e)', () => {
  const clients: ChatClient[] = [];

  function newClient(
    chat: RunningChatApp,
    token: string,
    options: Partial<ChatClientOptions> = {},
  ): ChatClient {
    const client = new ChatClient({
      url: chat.url(),
      token,
      WebSocket,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      ...options,
    });
    clients.push(client);
    return client;
  }

  afterEach(() => {
    for (const client of clients.splice(0)) {
      client.close();
    }
  });

  describe('requests', () => {
    let chat: RunningChatApp;

    beforeAll(async () => {
      chat = await startChatApp({ WS_RATE_LIMIT: '3' });
    });

    afterAll(async () => {
      await chat.close();
    });

    it('resolves a request with the reply of its id and delivers the broadcast', async () => {
      const alice = newClient(chat, await chat.login('alice', 'wonderland'));
      const welcome = nextEvent(alice, 'welcome');
      await alice.connect();
      expect((await welcome)[0]).toMatchObject({ user: 'alice' });
      expect(alice.state).toBe('open');
      expect(await alice.join('lobby')).toEqual({
        room: 'lobby',
        members: [{ user: 'alice', status: 'online' }],
      });
      const broadcast = nextEvent(alice, 'message');
      const ack = await alice.sendMessage('lobby', 'hello');
      expect(ack).toEqual({ id: expect.stringMatching(/^\d+$/), ts: isoDate });
      expect(await broadcast).toEqual([
        { id: ack.id, room: 'lobby', from: 'alice', text: 'hello', ts: ack.ts },
        { source: 'live' },
      ]);
      expect(alice.rooms).toEqual(['lobby']);
      expect(await alice.listRooms()).toEqual(
        expect.arrayContaining([{ room: 'lobby', members: 1 }]),
      );
    });

    it('uses the ?token= carrier when asked', async () => {
      const alice = newClient(chat, await chat.login('alice', 'wonderland'), {
        tokenCarrier: 'query',
      });
      await alice.connect();
      expect(await alice.ping()).toEqual({ ts: isoDate });
    });

    it('rejects with a typed error carrying code, message, errors and retryAfterMs', async () => {
      const bob = newClient(chat, await chat.login('bob', 'builder'));
      await bob.connect();

      const invalid = await bob
        .join('no spaces allowed')
        .catch((error: unknown) => error);
      expect(invalid).toBeInstanceOf(ChatClientError);
      expect(invalid).toMatchObject({
        code: 'VALIDATION_FAILED',
        event: 'join',
        errors: [{ field: 'room', message: expect.any(String) }],
      });

      await expect(bob.history({ room: 'not-joined' })).rejects.toMatchObject({
        code: 'FORBIDDEN',
        event: 'history',
      });
      await expect(bob.sendPrivate('nobody-here', 'hi')).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });

      await bob.join('spam');
      let limited: unknown;
      for (let i = 0; i < 6 && limited === undefined; i += 1) {
        limited = await bob.sendMessage('spam', `msg ${i}`).then(
          () => undefined,
          (error: unknown) => error,
        );
      }
      expect(limited).toBeInstanceOf(ChatClientError);
      const rateLimited = limited as ChatClientError;
      expect(rateLimited.code).toBe('RATE_LIMITED');
      expect(rateLimited.retryAfterMs).toBeGreaterThan(0);
      expect(rateLimited.message).toEqual(expect.any(String));
      // The connection is still usable after an exception.
      expect(bob.state).toBe('open');
      expect(await bob.ping()).toEqual({ ts: isoDate });
    });
  });

  describe('restart on the same SQLite file and port', () => {
    let dir: string;
    let env: Record<string, string>;
    let chat: RunningChatApp;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'ws-client-e2e-'));
      env = { SQLITE_PATH: join(dir, 'chat.sqlite') };
    });

    afterAll(async () => {
      await chat?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('reconnects, rejoins, restores the status and recovers what it missed (rooms, conversations, room-mates), without gaps or duplicates', async () => {
      chat = await startChatApp(env);
      const port = chat.port;
      const aliceToken = await chat.login('alice', 'wonderland');
      const bobToken = await chat.login('bob', 'builder');
      const gate = { open: true, attempts: 0 };
      const alice = newClient(chat, aliceToken, {
        WebSocket: gatedWebSocket(gate),
      });
      const delivered = recordMessages(alice);
      await alice.connect();
      await alice.join('recovery');
      await alice.setStatus('away');

      const bob = await chat.connect(bobToken);
      await bob.request('join', { room: 'recovery' });
      const m1 = (
        await bob.request('message', { room: 'recovery', text: 'm1' })
      ).data.id as string;
      const p1 = (await bob.request('private', { to: 'alice', text: 'p1' }))
        .data.id as string;
      await until(() => delivered.length === 2, 'm1 and p1 at alice');

      // The server goes away; alice cannot reach the new one until the gate opens.
      gate.open = false;
      const reconnecting = nextEvent(
        alice,
        'state',
        (change) => change.state === 'reconnecting',
      );
      await chat.close();
      expect((await reconnecting)[0]).toMatchObject({
        close: { code: 1001, reason: 'Server shutting down' },
        decision: { reconnect: true },
      });

      chat = await startChatApp(env, port);
      expect(chat.port).toBe(port);
      const bob2 = await chat.connect(bobToken);
      await bob2.request('join', { room: 'recovery' });
      const missed: string[] = [];
      for (const text of ['m2', 'm3']) {
        missed.push(
          (await bob2.request('message', { room: 'recovery', text })).data
            .id as string,
        );
      }
      missed.push(
        (await bob2.request('private', { to: 'alice', text: 'p2' })).data
          .id as string,
      );
      // A room-mate alice never talked to writes to her while she is away.
      const carol = await chat.connect(await chat.register('carol'));
      await carol.request('join', { room: 'recovery' });
      missed.push(
        (await carol.request('private', { to: 'alice', text: 'c1' })).data
          .id as string,
      );
      await until(() => gate.attempts >= 2, 'refused reconnect attempts');

      const rejoined = nextEvent(alice, 'joined', (data) => data.rejoined);
      const ready = nextEvent(alice, 'ready');
      gate.open = true;
      expect((await ready)[0]).toEqual({
        reconnected: true,
        rooms: ['recovery'],
        recovered: 4,
      });
      expect((await rejoined)[0].room).toBe('recovery');

      const live = nextEvent(
        alice,
        'message',
        (message) => message.text === 'm4',
      );
      const m4 = (
        await bob2.request('message', { room: 'recovery', text: 'm4' })
      ).data.id as string;
      await live;

      expect(
        delivered.map(([message, meta]) => [
          message.id,
          message.text,
          meta.source,
        ]),
      ).toEqual([
        [m1, 'm1', 'live'],
        [p1, 'p1', 'live'],
        [missed[0], 'm2', 'recovery'],
        [missed[1], 'm3', 'recovery'],
        [missed[2], 'p2', 'recovery'],
        [missed[3], 'c1', 'recovery'],
        [m4, 'm4', 'live'],
      ]);
      const ids = delivered.map(([message]) => BigInt(message.id));
      expect([...ids].sort((a, b) => (a < b ? -1 : 1))).toEqual(ids);
      expect(alice.lastSeenInRoom('recovery')).toBe(m4);
      expect(alice.lastSeenWith('bob')).toBe(missed[2]);

      const members = await bob2.request('members', { room: 'recovery' });
      expect(members.data.members).toEqual(
        expect.arrayContaining([{ user: 'alice', status: 'away' }]),
      );
    }, 30_000);
  });

  describe('backoff against a server that is down', () => {
    let chat: RunningChatApp | undefined;

    afterAll(async () => {
      await chat?.close();
    });

    it('retries refused connections with exponentially growing, jittered waits, connects when the server is back, and starts over', async () => {
      chat = await startChatApp();
      const port = chat.port;
      // The jitter source at its top: every wait is just under its ceiling (39, not 40), so the
      // growth shows.
      const alice = newClient(chat, signToken('alice'), {
        reconnect: { initialDelayMs: 40, maxDelayMs: 400, factor: 2 },
        random: () => 0.999,
      });
      const waits: { attempt?: number; delayMs?: number; code?: number }[] = [];
      alice.on('state', (change) => {
        if (change.state === 'reconnecting') {
          waits.push({
            attempt: change.attempt,
            delayMs: change.delayMs,
            code: change.close?.code,
          });
        }
      });
      await alice.connect();

      await chat.close();
      chat = undefined;
      // Nothing listens on the port now: each attempt is refused by the OS (1006).
      await until(() => waits.length >= 6, 'six reconnect waits', 10_000);
      expect(waits.slice(0, 6)).toEqual([
        { attempt: 1, delayMs: 39, code: 1001 },
        { attempt: 2, delayMs: 79, code: 1006 },
        { attempt: 3, delayMs: 159, code: 1006 },
        { attempt: 4, delayMs: 319, code: 1006 },
        { attempt: 5, delayMs: 399, code: 1006 },
        { attempt: 6, delayMs: 399, code: 1006 },
      ]);

      // A request made while the server is down waits for the reconnect (within its timeout).
      const queued = alice.ping();
      const ready = nextEvent(alice, 'ready', () => true, 5000);
      chat = await startChatApp({}, port);
      expect((await ready)[0]).toMatchObject({ reconnected: true });
      expect(await queued).toEqual({ ts: isoDate });

      // A connection that was accepted resets the backoff: the next loss waits the first step.
      const before = waits.length;
      await chat.close();
      chat = undefined;
      await until(() => waits.length > before, 'a wait after the second loss');
      expect(waits[before]).toEqual({ attempt: 1, delayMs: 39, code: 1001 });
      alice.close();
    }, 30_000);

    it('gives up after maxAttempts refused attempts, rejecting what waits with DISCONNECTED', async () => {
      chat = await startChatApp();
      const bob = newClient(chat, signToken('bob'), {
        reconnect: { initialDelayMs: 20, maxDelayMs: 40, maxAttempts: 3 },
      });
      await bob.connect();
      const closed = nextEvent(
        bob,
        'state',
        (change) => change.state === 'closed',
        10_000,
      );
      let attempts = 0;
      bob.on('state', (change) => {
        if (change.state === 'connecting') {
          attempts += 1;
        }
      });
      await chat.close();
      chat = undefined;
      const waiting = bob.ping().catch((error: unknown) => error);
      const [change] = await closed;
      expect(change.error).toMatchObject({ code: 'DISCONNECTED' });
      expect(change.decision).toEqual({ reconnect: true, reason: 'transient' });
      expect(attempts).toBe(3);
      expect(await waiting).toMatchObject({ code: 'DISCONNECTED' });
      expect(bob.state).toBe('closed');
    });
  });

  describe('refusals and token refresh', () => {
    let chat: RunningChatApp;

    beforeAll(async () => {
      chat = await startChatApp({ WS_MAX_CONNECTIONS_PER_USER: '1' });
    });

    afterAll(async () => {
      await chat.close();
    });

    it.each([
      ['an invalid token', 'not-a-jwt', 'Invalid authentication token'],
      ['an unknown user', signToken('ghost'), 'Invalid user'],
    ])(
      'does not reconnect after a refusal for %s',
      async (_what, token, reason) => {
        const gate = { open: true, attempts: 0 };
        const client = newClient(chat, token, {
          WebSocket: gatedWebSocket(gate),
        });
        const states: string[] = [];
        client.on('state', (change) => states.push(change.state));
        const closed = nextEvent(
          client,
          'state',
          (change) => change.state === 'closed',
        );
        await expect(client.connect()).rejects.toMatchObject({
          code: 'REFUSED',
          closeCode: 1008,
          closeReason: reason,
        });
        expect((await closed)[0].decision).toEqual({
          reconnect: false,
          reason: 'auth',
        });
        // 'closed' is final: no reconnect was scheduled (that would have been 'reconnecting').
        expect(states).not.toContain('reconnecting');
        expect(gate.attempts).toBe(1);
        expect(client.state).toBe('closed');
        await expect(client.ping()).rejects.toMatchObject({ code: 'CLOSED' });
      },
    );

    it('does not reconnect after "Too many connections"', async () => {
      const first = newClient(chat, signToken('bob'));
      await first.connect();
      const gate = { open: true, attempts: 0 };
      const second = newClient(chat, signToken('bob'), {
        WebSocket: gatedWebSocket(gate),
      });
      const states: string[] = [];
      second.on('state', (change) => states.push(change.state));
      await expect(second.connect()).rejects.toMatchObject({
        code: 'REFUSED',
        closeReason: 'Too many connections',
      });
      expect(second.state).toBe('closed');
      expect(states).not.toContain('reconnecting');
      expect(gate.attempts).toBe(1);
      expect(first.state).toBe('open');
    });

    it('refreshes the token before it expires; without refresh it is closed "Token expired" for good', async () => {
      await chat.register('carol');
      const refreshed: string[] = [];
      // 8 s: long enough not to be refreshed before the handshake (done under 5 s left).
      const alice = newClient(chat, signToken('alice', 8), {
        refreshToken: async (current) => {
          refreshed.push(current);
          return signToken('alice', 600);
        },
      });
      const gate = { open: true, attempts: 0 };
      // carol's token outlives alice's first one by 1 s, so her close marks that alice's lapsed.
      const carol = newClient(chat, signToken('carol', 9), {
        WebSocket: gatedWebSocket(gate),
      });
      const tokenRefreshed = nextEvent(alice, 'tokenRefreshed');
      await Promise.all([alice.connect(), carol.connect()]);

      const [{ expiresAt }] = await tokenRefreshed;
      expect(refreshed).toHaveLength(1);
      expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(590_000);

      // carol's token lapses (9 s + the server's 5 s clock tolerance): closed, not retried.
      const [change] = await nextEvent(
        carol,
        'state',
        (state) => state.state === 'closed',
        20_000,
      );
      expect(change.close).toMatchObject({
        code: 1008,
        reason: 'Token expired',
      });
      expect(change.decision).toEqual({ reconnect: false, reason: 'auth' });
      expect(gate.attempts).toBe(1);
      // alice's original token (8 s + 5 s) lapsed a second before; the refreshed one keeps her.
      expect(alice.state).toBe('open');
      expect(await alice.ping()).toEqual({ ts: isoDate });
    }, 30_000);

    it('keeps the connection and the old token when a refresh is refused', async () => {
      const erin = newClient(chat, await chat.register('erin'));
      await erin.connect();
      await expect(erin.setToken(signToken('bob'))).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
        event: 'refresh',
      });
      expect(erin.state).toBe('open');
      expect(await erin.ping()).toEqual({ ts: isoDate });
    });
  });
});
