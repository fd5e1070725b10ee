import { DataSource } from 'typeorm';
import { startChatApp, type RunningChatApp } from './support/chat-app.js';
import { eventually } from './support/security.js';
import { WsTestClient } from './support/ws-test-client.js';

describe('AppModule HTTP (e2e)', () => {
  let chat: RunningChatApp;

  beforeAll(async () => {
    chat = await startChatApp();
  });

  afterAll(async () => {
    await chat.close();
  });

  it('GET / answers the JSON of PROTOCOL.md', async () => {
    const response = await chat
      .http()
      .get('/')
      .set('Accept', '*/*')
      .expect(200);
    expect(response.body).toEqual({
      message: 'WebSocket Chat API is running',
      instructions: expect.stringContaining('/ws/{room}?token='),
    });
  });

  it('answers 404 for an unknown route', async () => {
    await chat.http().get('/nope').expect(404);
  });

  it('GET /stats answers numbers only', async () => {
    const response = await chat.http().get('/stats').expect(200);
    expect(Object.keys(response.body as object).sort()).toEqual([
      'connections',
      'messagesReceived',
      'messagesSent',
      'onlineUsers',
      'rooms',
    ]);
    for (const value of Object.values(
      response.body as Record<string, unknown>,
    )) {
      expect(typeof value).toBe('number');
    }
  });

  it('GET /metrics exposes the WebSocket metrics and the process metrics', async () => {
    const client = await chat.connect(await chat.login('alice', 'wonderland'));
    await client.request('ping', {});
    const response = await chat.http().get('/metrics').expect(200);
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.text).toMatch(/^ws_connections_active 1$/m);
    expect(response.text).toMatch(
      /^ws_messages_received_total\{event="ping"\} 1$/m,
    );
    expect(response.text).toMatch(
      /^ws_connections_total\{result="accepted"\} 1$/m,
    );
    expect(response.text).toContain('ws_handler_duration_seconds_bucket');
    expect(response.text).toContain('process_cpu_user_seconds_total');
    client.close();
  });

  it.each([
    ['GET', '/', 200],
    ['GET', '/nope', 404],
    ['POST', '/token', 400],
    ['GET', '/auth/me', 401],
    ['GET', '/stats', 200],
  ])(
    '%s %s carries X-Process-Time and X-Request-Id (status %i)',
    async (method, path, status) => {
      const response = await chat
        .http()
        [method === 'GET' ? 'get' : 'post'](path)
        .expect(status);
      expect(response.headers['x-process-time']).toMatch(/^\d+\.\d{6}$/);
      expect(Number(response.headers['x-process-time'])).toBeLessThan(5);
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    },
  );

  it('echoes a sane X-Request-Id and replaces an insane one', async () => {
    const sane = await chat
      .http()
      .get('/')
      .set('X-Request-Id', 'trace-123.abc')
      .expect(200);
    expect(sane.headers['x-request-id']).toBe('trace-123.abc');
    const insane = await chat
      .http()
      .get('/')
      .set('X-Request-Id', 'a b<script>')
      .expect(200);
    expect(insane.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('labels http_request_duration_seconds by route template, not raw URL', async () => {
    await chat.http().get('/nope-12345').expect(404);
    await chat.http().post('/auth/token').send({}).expect(400);
    const metrics = (await chat.http().get('/metrics').expect(200)).text;
    expect(metrics).toMatch(
      /http_request_duration_seconds_count\{method="POST",route="\/auth\/token",status="400"\} \d+/,
    );
    expect(metrics).toMatch(/route="unmatched",status="404"/);
    expect(metrics).not.toContain('nope-12345');
  });

  it('GET /health answers 200 with the database up', async () => {
    const response = await chat.http().get('/health').expect(200);
    expect(response.body).toMatchObject({
      status: 'ok',
      info: { database: { status: 'up' } },
    });
  });
});

describe('GET /health with the database down (e2e)', () => {
  it('answers 503', async () => {
    const chat = await startChatApp();
    await chat.app.get(DataSource).destroy();
    const response = await chat.http().get('/health').expect(503);
    expect(response.body).toMatchObject({ status: 'error' });
    expect(response.headers['x-process-time']).toBeDefined();
    await chat.close();
  });
});

describe('X-Process-Time, X-Request-Id and CORS on every response (e2e)', () => {
  const ORIGIN = 'http://chat.example';
  let chat: RunningChatApp;

  beforeAll(async () => {
    chat = await startChatApp({ WS_ALLOWED_ORIGINS: ORIGIN });
  });

  afterAll(async () => {
    await chat.close();
  });

  const expectTraced = (headers: Record<string, string>): void => {
    expect(headers['x-process-time']).toMatch(/^\d+\.\d{6}$/);
    expect(headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  };

  it.each([
    [
      'a JSON body over 100 KB',
      'application/json',
      JSON.stringify({ username: 'x'.repeat(120_000), password: 'y' }),
      413,
    ],
    [
      'a form body over 100 KB',
      'application/x-www-form-urlencoded',
      `username=${'x'.repeat(120_000)}&password=y`,
      413,
    ],
    ['malformed JSON', 'application/json', '{"username": ', 400],
  ])(
    'answers %s with both headers (body-parser refusals)',
    async (_case, type, body, status) => {
      const response = await chat
        .http()
        .post('/auth/token')
        .set('Content-Type', type)
        .send(body)
        .expect(status);
      expectTraced(response.headers as Record<string, string>);
    },
  );

  it('echoes the X-Request-Id of a refused body', async () => {
    const response = await chat
      .http()
      .post('/auth/register')
      .set('Content-Type', 'application/json')
      .set('X-Request-Id', 'body-refusal-1')
      .send('{')
      .expect(400);
    expect(response.headers['x-request-id']).toBe('body-refusal-1');
  });

  it('answers a preflight of an allowed origin 204 with CORS and both headers', async () => {
    const response = await chat
      .http()
      .options('/auth/token')
      .set('Origin', ORIGIN)
      .set('Access-Control-Request-Method', 'POST')
      .expect(204);
    expect(response.headers['access-control-allow-origin']).toBe(ORIGIN);
    expectTraced(response.headers as Record<string, string>);
  });

  it('answers a preflight of a foreign origin without allowing it, with both headers', async () => {
    const response = await chat
      .http()
      .options('/auth/token')
      .set('Origin', 'http://evil.example')
      .set('Access-Control-Request-Method', 'POST')
      .expect(204);
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    expectTraced(response.headers as Record<string, string>);
  });

  it('allows WS_ALLOWED_ORIGINS and exposes X-Process-Time and X-Request-Id to it', async () => {
    const allowed = await chat
      .http()
      .get('/stats')
      .set('Origin', ORIGIN)
      .expect(200);
    expect(allowed.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(
      String(allowed.headers['access-control-expose-headers'])
        .split(',')
        .map((name) => name.trim().toLowerCase())
        .sort(),
    ).toEqual(['x-process-time', 'x-request-id']);
    const foreign = await chat
      .http()
      .get('/stats')
      .set('Origin', 'http://evil.example')
      .expect(200);
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('puts both headers on 201, 409, 401 with a challenge and 429 with Retry-After', async () => {
    const body = { username: 'traced', password: 'password123' };
    expectTraced(
      (await chat.http().post('/auth/register').send(body).expect(201))
        .headers as Record<string, string>,
    );
    expectTraced(
      (await chat.http().post('/auth/register').send(body).expect(409))
        .headers as Record<string, string>,
    );
    for (let i = 0; i < 5; i++) {
      const refused = await chat
        .http()
        .post('/token')
        .type('form')
        .send({ username: 'traced', password: 'wrong-password' })
        .expect(401)
        .expect('WWW-Authenticate', 'Bearer');
      expectTraced(refused.headers as Record<string, string>);
    }
    const locked = await chat
      .http()
      .post('/token')
      .type('form')
      .send(body)
      .expect(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expectTraced(locked.headers as Record<string, string>);
  });

  it.each([['/metrics'], ['/health'], ['/web/nope.js']])(
    'GET %s carries both headers',
    async (path) => {
      const response = await chat.http().get(path);
      expect([200, 404]).toContain(response.status);
      expectTraced(response.headers as Record<string, string>);
    },
  );
});

/** The value of one sample of the Prometheus text, 0 when absent. */
function sample(text: string, name: string, labels = ''): number {
  const escaped = `${name}${labels ? `{${labels}}` : ''}`.replace(
    /[.*+?^${}()|[\]\\]/g,
    '\\$&',
  );
  const match = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

describe('GET /metrics and GET /stats move with the traffic (e2e)', () => {
  let chat: RunningChatApp;

  beforeAll(async () => {
    chat = await startChatApp({ WS_RATE_LIMIT: '2' });
  });

  afterAll(async () => {
    await chat.close();
  });

  const scrape = async (): Promise<string> =>
    (await chat.http().get('/metrics').expect(200)).text;
  const stats = async (): Promise<Record<string, number>> =>
    (await chat.http().get('/stats').expect(200)).body as Record<
      string,
      number
    >;

  it('counts connections, frames, refusals and rate limiting, and /stats agrees', async () => {
    const before = await scrape();
    expect(sample(before, 'ws_connections_active')).toBe(0);

    const aliceToken = await chat.login('alice', 'wonderland');
    const alice = await chat.connect(aliceToken);
    const bob = await chat.connect(await chat.login('bob', 'builder'));
    let text = await scrape();
    expect(sample(text, 'ws_connections_active')).toBe(2);
    expect(sample(text, 'ws_connections_total', 'result="accepted"')).toBe(2);
    expect(await stats()).toEqual({
      connections: 2,
      messagesReceived: 0,
      messagesSent: 2, // the two welcomes
      rooms: 0,
      onlineUsers: 2,
    });

    for (let i = 0; i < 3; i++) {
      await alice.request('ping', {});
    }
    await alice.request('no-such-event', {});
    alice.sendRaw('not json');
    await alice.next('exception');
    await alice.request('join', { room: 'metered' });
    for (let i = 0; i < 3; i++) {
      await alice.request('message', { room: 'metered', text: `m${i}` });
    }
    // 2 welcomes, 3 pings, 2 errors, presence + join reply, 2 messages x (reply + broadcast),
    // and the RATE_LIMITED reply of the third message.
    const sent = 2 + 3 + 2 + 2 + 2 * 2 + 1;
    text = await scrape();
    expect(sample(text, 'ws_messages_received_total', 'event="ping"')).toBe(3);
    expect(sample(text, 'ws_messages_received_total', 'event="unknown"')).toBe(
      2,
    );
    expect(sample(text, 'ws_messages_received_total', 'event="join"')).toBe(1);
    expect(sample(text, 'ws_messages_received_total', 'event="message"')).toBe(
      3,
    );
    expect(text).not.toContain('no-such-event');
    expect(sample(text, 'ws_messages_sent_total')).toBe(sent);
    expect(sample(text, 'ws_rate_limited_total')).toBe(1);
    expect(
      sample(text, 'ws_handler_duration_seconds_count', 'event="ping"'),
    ).toBe(3);
    expect(
      sample(text, 'ws_handler_duration_seconds_count', 'event="message"'),
    ).toBe(3);
    expect(await stats()).toEqual({
      connections: 2,
      messagesReceived: 9,
      messagesSent: sent,
      rooms: 1,
      onlineUsers: 2,
    });

    const refused = new WsTestClient(`${chat.url()}?token=not-a-token`);
    expect((await refused.waitClosed()).code).toBe(1008);
    const anonymous = new WsTestClient(chat.url());
    expect((await anonymous.waitClosed()).code).toBe(1008);
    text = await scrape();
    expect(sample(text, 'ws_auth_failures_total', 'reason="invalid"')).toBe(1);
    expect(sample(text, 'ws_auth_failures_total', 'reason="missing"')).toBe(1);
    expect(sample(text, 'ws_connections_total', 'result="refused"')).toBe(2);
    expect(text).not.toContain(aliceToken);
    expect(text).not.toContain('not-a-token');

    alice.close();
    await alice.waitClosed();
    await eventually(
      async () => sample(await scrape(), 'ws_connections_active') === 1,
      'ws_connections_active to drop to 1',
      5000,
    );
    expect(await stats()).toMatchObject({
      connections: 1,
      rooms: 0,
      onlineUsers: 1,
    });
    bob.close();
    await bob.waitClosed();
    await eventually(
      async () => sample(await scrape(), 'ws_connections_active') === 0,
      'ws_connections_active to drop to 0',
      5000,
    );
    expect(await stats()).toMatchObject({ connections: 0, onlineUsers: 0 });
  });
});
