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
});
