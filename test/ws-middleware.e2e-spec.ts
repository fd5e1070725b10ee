import { signToken } from './support/tokens.js';
import { startTestApp, type RunningTestApp } from './support/test-app.js';
import { WsTestClient } from './support/ws-test-client.js';

describe('WsMiddlewareModule messages (e2e)', () => {
  let server: RunningTestApp;
  const clients: WsTestClient[] = [];

  const connect = async (
    sub = 'alice',
    path = '/ws',
  ): Promise<WsTestClient> => {
    const client = await WsTestClient.connect(
      `${server.url(path)}?token=${signToken(sub)}`,
    );
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await startTestApp();
  });

  afterEach(() => {
    for (const client of clients.splice(0)) {
      client.close();
    }
  });

  afterAll(async () => {
    await server.app.close();
  });

  it('sends welcome with user, connection id and limits first', async () => {
    const client = new WsTestClient(
      `${server.url()}?token=${signToken('alice')}`,
    );
    clients.push(client);
    const welcome = await client.next();
    expect(welcome.event).toBe('welcome');
    expect(welcome.data).toEqual({
      user: 'alice',
      connectionId: expect.any(String),
      limits: { maxMessageBytes: 65536, rateLimitPerMinute: 3 },
    });
  });

  it('replies once with the same event and id', async () => {
    const client = await connect();
    client.emit('echo', { text: 'hi' }, 42);
    client.emit('echo', { text: 'there' }, 'abc');
    expect(await client.next()).toEqual({
      event: 'echo',
      id: 42,
      data: { text: 'hi', dto: true },
    });
    expect(await client.next()).toEqual({
      event: 'echo',
      id: 'abc',
      data: { text: 'there', dto: true },
    });
  });

  it('answers VALIDATION_FAILED with field errors', async () => {
    const client = await connect();
    const reply = await client.request('echo', { text: 5 });
    expect(reply.event).toBe('exception');
    expect(reply.data).toMatchObject({
      status: 'error',
      code: 'VALIDATION_FAILED',
      event: 'echo',
      errors: expect.arrayContaining([
        { field: 'text', message: expect.stringContaining('text') },
      ]),
    });
  });

  it.each([
    ['not JSON', '{"event": "echo", ', undefined],
    ['a JSON array', '[1, 2]', undefined],
    ['a JSON string', '"echo"', undefined],
    ['missing event', '{"data": {}, "id": 7}', 7],
    ['a non-string event', '{"event": 5, "id": "x"}', 'x'],
    ['an empty event', '{"event": "", "id": 1}', 1],
  ])(
    'answers BAD_REQUEST to %s and keeps the connection open',
    async (_name, raw, id) => {
      const client = await connect();
      client.sendRaw(raw);
      const reply = await client.next('exception');
      expect(reply.id).toBe(id);
      expect(reply.data).toMatchObject({
        status: 'error',
        code: 'BAD_REQUEST',
      });
      expect((await client.request('ping', {})).event).toBe('ping');
    },
  );

  it('answers BAD_REQUEST to an id that is an object or longer than 64 chars, without echoing it', async () => {
    const client = await connect();
    client.sendRaw(
      JSON.stringify({ event: 'echo', data: { text: 'x' }, id: { a: 1 } }),
    );
    client.sendRaw(
      JSON.stringify({
        event: 'echo',
        data: { text: 'x' },
        id: 'i'.repeat(65),
      }),
    );
    for (let i = 0; i < 2; i++) {
      const reply = await client.next('exception');
      expect(reply).not.toHaveProperty('id');
      expect(reply.data).toMatchObject({ code: 'BAD_REQUEST', event: 'echo' });
    }
  });

  it.each([
    'nope',
    '__proto__',
    'constructor',
    'exception',
    'e'.repeat(10_240),
  ])('answers UNKNOWN_EVENT to event %#', async (event) => {
    const client = await connect();
    const reply = await client.request(event, {});
    expect(reply.event).toBe('exception');
    expect(reply.data).toMatchObject({
      status: 'error',
      code: 'UNKNOWN_EVENT',
    });
    expect(String(reply.data.event).length).toBeLessThanOrEqual(128);
  });

  it('answers VALIDATION_FAILED when data is not an object', async () => {
    const client = await connect();
    const reply = await client.request('echo', [1, 2]);
    expect(reply.data).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [{ field: 'data', message: 'data must be an object' }],
    });
  });

  it('answers INTERNAL without leaking the error', async () => {
    const client = await connect();
    const reply = await client.request('boom', {});
    expect(reply.data).toEqual({
      status: 'error',
      code: 'INTERNAL',
      message: 'Internal server error',
      event: 'boom',
    });
    expect(JSON.stringify(reply)).not.toContain('secret');
  });

  it('answers FORBIDDEN and NOT_FOUND from WsError', async () => {
    const client = await connect();
    expect((await client.request('forbidden', {})).data).toMatchObject({
      code: 'FORBIDDEN',
      message: 'Not a member',
    });
    expect((await client.request('missing', {})).data).toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('handles frames of one connection in order, even when a handler is slow', async () => {
    const client = await connect();
    client.emit('delay', { ms: 30 }, 'slow');
    client.emit('echo', { text: 'fast' }, 'fast');
    expect((await client.next()).id).toBe('slow');
    expect((await client.next()).id).toBe('fast');
  });

  it('answers the built-in ping', async () => {
    const client = await connect();
    const reply = await client.request('ping', {});
    expect(new Date(String(reply.data.ts)).toISOString()).toBe(reply.data.ts);
  });

  it('lets @WsPublic() handlers through', async () => {
    const client = await connect();
    expect((await client.request('public', {})).data).toEqual({ public: true });
  });

  it('exposes the user and connection through @WsUser() and @WsConnection()', async () => {
    const client = new WsTestClient(
      `${server.url()}?token=${signToken('dora')}`,
    );
    clients.push(client);
    const welcome = await client.next('welcome');
    const reply = await client.request('whoami', {});
    expect(reply.data).toEqual({
      user: 'dora',
      connectionId: welcome.data.connectionId,
      ip: '127.0.0.1',
    });
  });

  it("refreshes a token for the same user and refuses another user's with UNAUTHORIZED", async () => {
    const client = await connect('erin');
    const ok = await client.request('refresh', {
      token: signToken('erin', 3600),
    });
    expect(ok.event).toBe('refresh');
    expect(Date.parse(String(ok.data.expiresAt))).toBeGreaterThan(
      Date.now() + 3_500_000,
    );
    const other = await client.request('refresh', {
      token: signToken('frank'),
    });
    expect(other.data).toMatchObject({ code: 'UNAUTHORIZED' });
    const junk = await client.request('refresh', { token: 'junk' });
    expect(junk.data).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await client.request('ping', {})).event).toBe('ping');
  });

  it('answers RATE_LIMITED with retryAfterMs through @nestjs/throttler', async () => {
    const client = await connect('gina');
    for (let i = 0; i < 3; i++) {
      expect((await client.request('limited', {})).data).toEqual({ ok: true });
    }
    const reply = await client.request('limited', {});
    expect(reply.data).toMatchObject({
      code: 'RATE_LIMITED',
      event: 'limited',
    });
    expect(reply.data.retryAfterMs).toBeGreaterThan(0);
    expect(reply.data.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('closes 1008 "Rate limit exceeded" right after the 20th RATE_LIMITED reply', async () => {
    const client = await connect('hank');
    for (let i = 0; i < 23; i++) {
      client.emit('limited', {}, i);
    }
    const closed = await client.waitClosed();
    expect(closed).toEqual({ code: 1008, reason: 'Rate limit exceeded' });
    const limited = client.frames.filter(
      (frame) => frame.data.code === 'RATE_LIMITED',
    );
    expect(limited).toHaveLength(20);
    expect(
      client.frames.filter((frame) => frame.event === 'limited'),
    ).toHaveLength(3);
  });

  it('closes 1003 on a binary frame', async () => {
    const client = await connect();
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await client.waitClosed()).code).toBe(1003);
  });

  it('closes 1007 on invalid UTF-8', async () => {
    const client = await connect();
    client.socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), {
      binary: false,
    });
    expect((await client.waitClosed()).code).toBe(1007);
  });

  it('closes 1009 on a frame over maxMessageBytes', async () => {
    const client = await connect();
    client.sendRaw(
      JSON.stringify({ event: 'echo', data: { text: 'x'.repeat(70_000) } }),
    );
    expect((await client.waitClosed()).code).toBe(1009);
  });
});
