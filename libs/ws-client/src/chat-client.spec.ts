import type { WebSocketConstructor } from './chat-client-options.interface.js';
import { ChatClient, type ConnectionStateChange } from './chat-client.js';
import { ChatClientError } from './chat-client.error.js';
import type {
  PrivateMessage,
  RoomMessage,
  ServerFrame,
} from './chat-protocol.types.js';

interface SentFrame {
  event: string;
  data: Record<string, unknown>;
  id: number;
}

type Responder = (socket: FakeSocket, frame: SentFrame) => void;

/** A WebSocket double: the spec plays the server by pushing frames and closing. */
class FakeSocket {
  static instances: FakeSocket[] = [];
  static responder: Responder = () => undefined;
  readyState = 0;
  readonly sent: SentFrame[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose:
    | ((event: { code: number; reason: string; wasClean: boolean }) => void)
    | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    FakeSocket.instances.push(this);
  }

  send(data: string): void {
    const frame = JSON.parse(data) as SentFrame;
    this.sent.push(frame);
    FakeSocket.responder(this, frame);
  }

  close(code = 1000, reason = ''): void {
    this.drop(code, reason);
  }

  /** Server side: accept and welcome. */
  accept(user = 'alice'): void {
    this.readyState = 1;
    this.onopen?.({});
    this.push({
      event: 'welcome',
      data: { user, connectionId: 'c1', limits: { maxMessageBytes: 65536 } },
    });
  }

  push(frame: ServerFrame): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  reply(request: SentFrame, data: unknown): void {
    this.push({ event: request.event, id: request.id, data });
  }

  drop(code: number, reason = ''): void {
    if (this.readyState === 3) {
      return;
    }
    this.readyState = 3;
    this.onclose?.({ code, reason, wasClean: code !== 1006 });
  }
}

const ts = '2025-01-01T00:00:00.000Z';
const roomMessage = (id: string, text = `m${id}`): RoomMessage => ({
  id,
  room: 'general',
  from: 'bob',
  text,
  ts,
});

/** Answers join / history / status / ping like the real server would, from a message store. */
function serverWith(store: (RoomMessage | PrivateMessage)[]): Responder {
  return (socket, frame) => {
    queueMicrotask(() => {
      switch (frame.event) {
        case 'join':
          socket.reply(frame, { room: frame.data.room, members: [] });
          break;
        case 'history': {
          const after = frame.data.after as string | undefined;
          const messages = store.filter(
            (message) =>
              ('room' in message
                ? message.room === frame.data.room
                : frame.data.with !== undefined) &&
              (after === undefined || Number(message.id) > Number(after)),
          );
          socket.reply(frame, {
            messages: messages.slice(0, Number(frame.data.limit ?? 50)),
          });
          break;
        }
        default:
          socket.reply(frame, {});
      }
    });
  };
}

function until(
  predicate: () => boolean,
  what: string,
  timeoutMs = 1000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = (): void => {
      if (predicate()) {
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        reject(new Error(`timed out waiting for ${what}`));
      } else {
        setTimeout(poll, 2);
      }
    };
    poll();
  });
}

function newClient(
  extra: Partial<ConstructorParameters<typeof ChatClient>[0]> = {},
) {
  return new ChatClient({
    url: 'ws://chat.test/ws',
    token: 'header.payload.sig',
    WebSocket: FakeSocket as unknown as WebSocketConstructor,
    reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
    random: () => 1,
    keepAliveMs: 0,
    ...extra,
  });
}

async function connected(client: ChatClient): Promise<FakeSocket> {
  const ready = client.connect();
  await until(() => FakeSocket.instances.length > 0, 'a socket');
  const socket = FakeSocket.instances.at(-1) as FakeSocket;
  socket.accept();
  await ready;
  return socket;
}

describe(ChatClient.name, () => {
  let client: ChatClient;

  beforeEach(() => {
    FakeSocket.instances = [];
    FakeSocket.responder = serverWith([]);
  });

  afterEach(() => {
    client?.close();
  });

  it('sends the token as the bearer subprotocol, or as ?token= when asked', async () => {
    client = newClient();
    await connected(client);
    expect(FakeSocket.instances[0].protocols).toEqual([
      'bearer',
      'header.payload.sig',
    ]);
    client.close();
    client = newClient({ tokenCarrier: 'query' });
    await connected(client);
    expect(FakeSocket.instances[1].url).toBe(
      'ws://chat.test/ws?token=header.payload.sig',
    );
    expect(FakeSocket.instances[1].protocols).toBeUndefined();
  });

  it('resolves each request with the reply of its id, in any order', async () => {
    FakeSocket.responder = () => undefined;
    client = newClient();
    const socket = await connected(client);
    const first = client.ping();
    const second = client.members('general');
    const [ping, members] = socket.sent;
    socket.reply(members, { room: 'general', members: [] });
    socket.reply(ping, { ts });
    await expect(first).resolves.toEqual({ ts });
    await expect(second).resolves.toEqual({ room: 'general', members: [] });
  });

  it('rejects with a typed error on exception, carrying code, errors and retryAfterMs', async () => {
    FakeSocket.responder = (socket, frame) =>
      socket.push({
        event: 'exception',
        id: frame.id,
        data: {
          status: 'error',
          code: 'RATE_LIMITED',
          message: 'Too many messages',
          event: 'message',
          retryAfterMs: 1234,
        },
      });
    client = newClient();
    await connected(client);
    const error = await client
      .sendMessage('general', 'hi')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ChatClientError);
    expect(error).toMatchObject({
      code: 'RATE_LIMITED',
      message: 'Too many messages',
      event: 'message',
      retryAfterMs: 1234,
    });
  });

  it('rejects with TIMEOUT when no reply comes', async () => {
    FakeSocket.responder = () => undefined;
    client = newClient();
    await connected(client);
    await expect(
      client.request('ping', {}, { timeoutMs: 20 }),
    ).rejects.toMatchObject({ code: 'TIMEOUT', event: 'ping' });
  });

  it('rejects requests before connect() with CLOSED', async () => {
    client = newClient();
    await expect(client.ping()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('delivers each message id once, live or from history', async () => {
    FakeSocket.responder = serverWith([roomMessage('1'), roomMessage('2')]);
    client = newClient();
    const socket = await connected(client);
    const seen: [string, string][] = [];
    client.on('message', (message, meta) =>
      seen.push([message.id, meta.source]),
    );
    socket.push({ event: 'message', data: roomMessage('1') });
    socket.push({ event: 'message', data: roomMessage('1') });
    await client.join('general');
    await client.history({ room: 'general' });
    expect(seen).toEqual([
      ['1', 'live'],
      ['2', 'history'],
    ]);
  });

  it("delivers one's own private message from its acknowledgement", async () => {
    FakeSocket.responder = (socket, frame) =>
      socket.reply(frame, { id: '7', ts });
    client = newClient();
    await connected(client);
    const received: PrivateMessage[] = [];
    client.on('private', (message) => received.push(message));
    await client.sendPrivate('bob', 'psst');
    expect(received).toEqual([
      { id: '7', from: 'alice', to: 'bob', text: 'psst', ts },
    ]);
    expect(client.conversations).toEqual(['bob']);
  });

  it('reconnects after a lost connection, rejoins, recovers in id order without duplicates', async () => {
    const store: RoomMessage[] = [roomMessage('1')];
    FakeSocket.responder = serverWith(store);
    client = newClient();
    const states: ConnectionStateChange[] = [];
    client.on('state', (change) => states.push(change));
    const delivered: [string, string][] = [];
    client.on('message', (message, meta) =>
      delivered.push([message.id, meta.source]),
    );
    const first = await connected(client);
    await client.join('general');
    first.push({ event: 'message', data: roomMessage('1') });
    const pending = client.ping();
    FakeSocket.responder = () => undefined;

    first.drop(1006);
    await expect(pending).rejects.toMatchObject({
      code: 'DISCONNECTED',
      closeCode: 1006,
    });
    expect(states.at(-1)).toMatchObject({
      state: 'reconnecting',
      attempt: 1,
      delayMs: 5,
    });
    store.push(roomMessage('2'), roomMessage('3'));

    await until(() => FakeSocket.instances.length === 2, 'a second socket');
    const second = FakeSocket.instances[1];
    FakeSocket.responder = serverWith(store);
    const ready = new Promise((resolve) => client.once('ready', resolve));
    second.accept();
    // A live message during recovery is held back and delivered after the older ones.
    second.push({ event: 'message', data: roomMessage('4') });
    await expect(ready).resolves.toEqual({
      reconnected: true,
      rooms: ['general'],
      recovered: 2,
    });
    expect(second.sent.map((frame) => [frame.event, frame.data])).toEqual([
      ['join', { room: 'general' }],
      ['history', { room: 'general', after: '1', limit: 100 }],
    ]);
    expect(delivered).toEqual([
      ['1', 'live'],
      ['2', 'recovery'],
      ['3', 'recovery'],
      ['4', 'live'],
    ]);
    expect(client.state).toBe('open');
  });

  it('queues requests made while reconnecting and sends them once ready', async () => {
    client = newClient();
    const first = await connected(client);
    first.drop(1001, 'Server shutting down');
    const ping = client.ping();
    await until(() => FakeSocket.instances.length === 2, 'a second socket');
    FakeSocket.instances[1].accept();
    await expect(ping).resolves.toEqual({});
  });

  it.each([
    'Invalid authentication token',
    'Token expired',
    'Too many connections',
  ])(
    'stops after 1008 "%s" and rejects connect() with REFUSED',
    async (reason) => {
      client = newClient();
      const ready = client.connect();
      await until(() => FakeSocket.instances.length === 1, 'a socket');
      FakeSocket.instances[0].drop(1008, reason);
      await expect(ready).rejects.toMatchObject({
        code: 'REFUSED',
        closeCode: 1008,
        closeReason: reason,
      });
      expect(client.state).toBe('closed');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(FakeSocket.instances).toHaveLength(1);
    },
  );

  it('refreshes a token about to expire before the handshake', async () => {
    const payload = Buffer.from(
      JSON.stringify({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 2 }),
    ).toString('base64url');
    const seen: string[] = [];
    client = newClient({
      token: `e30.${payload}.sig`,
      refreshToken: async (current) => {
        seen.push(current);
        return 'fresh.token.sig';
      },
    });
    await connected(client);
    expect(seen).toEqual([`e30.${payload}.sig`]);
    expect(FakeSocket.instances[0].protocols).toEqual([
      'bearer',
      'fresh.token.sig',
    ]);
  });

  it('close() while waiting to reconnect stops for good and rejects waiting requests', async () => {
    client = newClient({ reconnect: { initialDelayMs: 50 } });
    const first = await connected(client);
    first.drop(1006);
    expect(client.state).toBe('reconnecting');
    const ping = client.ping();
    client.close();
    await expect(ping).rejects.toMatchObject({ code: 'CLOSED' });
    expect(client.state).toBe('closed');
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it('stops after maxAttempts failed attempts', async () => {
    client = newClient({ reconnect: { initialDelayMs: 1, maxAttempts: 2 } });
    const ready = client.connect();
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      await until(
        () => FakeSocket.instances.length === attempt,
        `attempt ${attempt}`,
      );
      FakeSocket.instances[attempt - 1].drop(1006);
    }
    await expect(ready).rejects.toMatchObject({ code: 'DISCONNECTED' });
    expect(client.state).toBe('closed');
  });

  it('drops a connection that does not answer its keep-alive ping, then reconnects', async () => {
    FakeSocket.responder = () => undefined;
    client = newClient({ keepAliveMs: 10, requestTimeoutMs: 20 });
    await connected(client);
    await until(() => FakeSocket.instances.length === 2, 'a reconnect', 2000);
    expect(FakeSocket.instances[0].sent.map((frame) => frame.event)).toContain(
      'ping',
    );
  });
});
