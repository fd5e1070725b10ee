import { DataSource } from 'typeorm';
import { startChatApp, type RunningChatApp } from './support/chat-app.js';

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
