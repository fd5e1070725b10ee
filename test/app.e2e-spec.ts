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
});
