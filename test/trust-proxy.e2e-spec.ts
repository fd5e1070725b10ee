import { startChatApp, type RunningChatApp } from './support/chat-app.js';
import { signToken } from './support/tokens.js';
import { WsTestClient } from './support/ws-test-client.js';

/** A client of `chat` whose request says it was forwarded for `forwardedFor`. */
async function viaProxy(
  chat: RunningChatApp,
  forwardedFor: string,
  clients: WsTestClient[],
): Promise<WsTestClient> {
  const client = new WsTestClient(
    `${chat.url()}?token=${signToken('alice')}`,
    undefined,
    { headers: { 'x-forwarded-for': forwardedFor } },
  );
  clients.push(client);
  return client;
}

async function accepted(client: WsTestClient): Promise<void> {
  await client.next('welcome');
}

async function refused(client: WsTestClient): Promise<void> {
  expect(await client.waitClosed()).toEqual({
    code: 1008,
    reason: 'Too many connections',
  });
}

describe('TRUST_PROXY behind a reverse proxy (e2e)', () => {
  const clients: WsTestClient[] = [];

  afterEach(() => {
    for (const client of clients.splice(0)) {
      client.socket.terminate();
    }
  });

  describe('TRUST_PROXY=1', () => {
    let chat: RunningChatApp;

    beforeAll(async () => {
      chat = await startChatApp({
        TRUST_PROXY: '1',
        WS_MAX_CONNECTIONS_PER_IP: '1',
      });
    });

    afterAll(async () => {
      await chat.close();
    });

    it('counts connections per forwarded client, by the hop the proxy added', async () => {
      await accepted(await viaProxy(chat, '203.0.113.1', clients));
      // Another client behind the same proxy (same socket peer) is not the same IP.
      await accepted(await viaProxy(chat, '203.0.113.2', clients));
      // A client cannot dodge the limit by sending its own X-Forwarded-For: the proxy appends the
      // address it saw, and only that last hop is trusted.
      await refused(await viaProxy(chat, '198.51.100.9, 203.0.113.1', clients));
    });

    it('locks logins out per forwarded client', async () => {
      const attempt = (forwardedFor: string, password: string) =>
        chat
          .http()
          .post('/token')
          .set('X-Forwarded-For', forwardedFor)
          .type('form')
          .send({ username: 'bob', password });
      for (let i = 0; i < 5; i++) {
        await attempt('203.0.113.7', 'wrong-password').expect(401);
      }
      await attempt('203.0.113.7', 'builder').expect(429);
      await attempt('203.0.113.8', 'builder').expect(200);
    });
  });

  describe('TRUST_PROXY unset', () => {
    let chat: RunningChatApp;

    beforeAll(async () => {
      chat = await startChatApp({ WS_MAX_CONNECTIONS_PER_IP: '1' });
    });

    afterAll(async () => {
      await chat.close();
    });

    it('ignores X-Forwarded-For: the socket peer is the client', async () => {
      await accepted(await viaProxy(chat, '203.0.113.1', clients));
      await refused(await viaProxy(chat, '203.0.113.2', clients));
    });
  });
});
