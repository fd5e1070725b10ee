import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { WsTestClient, type Frame } from '../support/ws-test-client.js';
import {
  ChatNode,
  eventually,
  freePort,
  OwnRedis,
  SECRET,
  TestSchema,
} from './support/cluster.js';

const HEARTBEAT_MS = 300;

function nodeEnv(
  schema: TestSchema,
  prefix: string,
  redisUrl: string,
): Record<string, string> {
  return {
    JWT_SECRET: SECRET,
    DATABASE_URL: schema.url,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    CLUSTER_HEARTBEAT_MS: String(HEARTBEAT_MS),
    WS_RATE_LIMIT: '5',
    WS_MAX_CONNECTIONS_PER_USER: '3',
    DEMO_USERS: 'true',
    LOG_LEVEL: 'warn',
  };
}

const clients: WsTestClient[] = [];
async function connect(
  node: ChatNode,
  token: string,
  path = '/ws',
): Promise<WsTestClient> {
  const client = new WsTestClient(`${node.url(path)}?token=${token}`);
  clients.push(client);
  await client.next('welcome', 5000);
  return client;
}

function count(
  client: WsTestClient,
  predicate: (frame: Frame) => boolean,
): number {
  return client.frames.filter(predicate).length;
}

/** Three server processes on one Redis and one PostgreSQL schema (npm run test:cluster). */
describe('Chat cluster: three nodes on Redis and PostgreSQL', () => {
  const schema = new TestSchema();
  const prefix = `chat-test-${randomBytes(4).toString('hex')}:`;
  let nodes: ChatNode[] = [];
  let a: ChatNode;
  let b: ChatNode;
  let c: ChatNode;

  beforeAll(async () => {
    await schema.create();
    nodes = await Promise.all(
      [0, 1, 2].map(
        async () =>
          new ChatNode(
            await freePort(),
            nodeEnv(schema, prefix, 'redis://127.0.0.1:6379'),
          ),
      ),
    );
    [a, b, c] = nodes;
    await Promise.all(nodes.map((node) => node.start()));
  }, 60_000);

  afterEach(() => {
    for (const client of clients.splice(0)) {
      client.socket.terminate();
    }
  });

  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    const redis = new Redis('redis://127.0.0.1:6379');
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) {
      await redis.del(...keys);
    }
    redis.disconnect();
    await schema.drop();
  });

  it('delivers a room message to members on every node exactly once, in order', async () => {
    const carol = await c.token('carol', 'password123', true);
    const onA = await connect(
      a,
      await a.token('alice', 'wonderland'),
      '/ws/everywhere',
    );
    const onB = await connect(
      b,
      await b.token('bob', 'builder'),
      '/ws/everywhere',
    );
    const onC = await connect(c, carol, '/ws/everywhere');
    await onA.waitFor(
      (f) => f.event === 'presence' && f.data.user === 'carol',
      'carol joins (seen on A)',
    );

    const first = await onA.request('message', {
      room: 'everywhere',
      text: 'one',
    });
    const second = await onA.request('message', {
      room: 'everywhere',
      text: 'two',
    });
    for (const client of [onA, onB, onC]) {
      const m1 = await client.next('message', 5000);
      const m2 = await client.next('message', 5000);
      expect([m1.data.id, m2.data.id]).toEqual([first.data.id, second.data.id]);
    }
    // A third message proves nothing more of the first two was on its way.
    await onB.request('message', { room: 'everywhere', text: 'three' });
    for (const client of [onA, onB, onC]) {
      expect((await client.next('message', 5000)).data.text).toBe('three');
      expect(count(client, (f) => f.event === 'message')).toBe(0);
    }
  });

  it('delivers private messages across nodes and shows presence and offline across nodes', async () => {
    const onA = await connect(a, await a.token('alice', 'wonderland'));
    const onB = await connect(b, await b.token('bob', 'builder'));
    const sent = await onA.request('private', { to: 'bob', text: 'psst' });
    expect((await onB.next('private', 5000)).data).toMatchObject({
      id: sent.data.id,
      from: 'alice',
    });

    await onA.request('join', { room: 'watch' });
    await onB.request('join', { room: 'watch' });
    expect(
      (
        await onA.waitFor(
          (f) => f.event === 'presence' && f.data.user === 'bob',
          'bob joins',
          5000,
        )
      ).data,
    ).toMatchObject({ action: 'join' });
    expect(
      (await onA.request('members', { room: 'watch' })).data.members,
    ).toEqual(expect.arrayContaining([{ user: 'bob', status: 'online' }]));
    onB.close();
    expect(
      (
        await onA.waitFor(
          (f) => f.event === 'presence' && f.data.action === 'leave',
          'bob leaves',
          5000,
        )
      ).data,
    ).toMatchObject({ user: 'bob' });
    expect((await onA.next('status', 5000)).data).toEqual({
      user: 'bob',
      status: 'offline',
    });
  });

  it('shares the per-user rate limit across nodes', async () => {
    const dave = await a.token('dave', 'password123', true);
    const onA = await connect(a, dave);
    const onB = await connect(b, dave);
    for (let i = 0; i < 3; i++) {
      expect(
        (await onA.request('private', { to: 'alice', text: `a${i}` })).event,
      ).toBe('private');
    }
    expect(
      (await onB.request('private', { to: 'alice', text: 'b0' })).event,
    ).toBe('private');
    expect(
      (await onB.request('private', { to: 'alice', text: 'b1' })).event,
    ).toBe('private');
    const limited = await onB.request('private', { to: 'alice', text: 'b2' });
    expect(limited.data).toMatchObject({ code: 'RATE_LIMITED' });
    expect(limited.data.retryAfterMs).toBeGreaterThan(0);
    expect(limited.data.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('shares the per-user connection limit across nodes', async () => {
    const erin = await a.token('erin', 'password123', true);
    await connect(a, erin);
    await connect(b, erin);
    await connect(c, erin);
    const fourth = new WsTestClient(`${a.url()}?token=${erin}`);
    clients.push(fourth);
    expect(await fourth.waitClosed(5000)).toEqual({
      code: 1008,
      reason: 'Too many connections',
    });
  });

  it('recovers with history after on a different node', async () => {
    const alice = await a.token('alice', 'wonderland');
    const bob = await b.token('bob', 'builder');
    const onA = await connect(a, alice, '/ws/recover');
    const onB = await connect(b, bob, '/ws/recover');
    const seen = await onB.request('message', {
      room: 'recover',
      text: 'seen',
    });
    await onA.waitFor(
      (f) => f.event === 'message' && f.data.id === seen.data.id,
      'seen',
      5000,
    );
    onA.socket.terminate();
    const missed1 = await onB.request('message', {
      room: 'recover',
      text: 'missed 1',
    });
    const missed2 = await onB.request('message', {
      room: 'recover',
      text: 'missed 2',
    });
    const again = await connect(c, alice, '/ws/recover');
    const history = await again.request('history', {
      room: 'recover',
      after: seen.data.id,
    });
    expect(
      (history.data.messages as { id: string }[]).map((m) => m.id),
    ).toEqual([missed1.data.id, missed2.data.id]);
  });

  it('ignores and counts garbage on the cluster channel', async () => {
    const redis = new Redis('redis://127.0.0.1:6379');
    await redis.publish(`${prefix}events`, 'not json');
    await redis.publish(
      `${prefix}events`,
      JSON.stringify({ o: 'x', d: { kind: 'room' } }),
    );
    redis.disconnect();
    await eventually(async () => {
      const text = await (await fetch(`${a.http}/metrics`)).text();
      const match = /^chat_pubsub_invalid_messages_total (\d+)/m.exec(text);
      return Number(match?.[1] ?? 0) >= 2;
    }, 'the invalid-message counter to reach 2');
    const onA = await connect(a, await a.token('alice', 'wonderland'));
    expect((await onA.request('ping', {})).event).toBe('ping');
  });

  it('shows the users of a SIGKILLed node offline and releases its connection counts', async () => {
    const frank = await a.token('frank', 'password123', true);
    const watcher = await connect(
      a,
      await a.token('alice', 'wonderland'),
      '/ws/doomed',
    );
    for (let i = 0; i < 3; i++) {
      await connect(c, frank, '/ws/doomed');
    }
    await watcher.waitFor(
      (f) => f.event === 'presence' && f.data.user === 'frank',
      'frank joins',
      5000,
    );
    await c.kill();
    const started = Date.now();
    const leave = await watcher.waitFor(
      (f) =>
        f.event === 'presence' &&
        f.data.user === 'frank' &&
        f.data.action === 'leave',
      'frank to leave after the SIGKILL',
      10_000,
    );
    expect(leave.data.text).toBe('frank has left the chat');
    expect((await watcher.next('status', 5000)).data).toEqual({
      user: 'frank',
      status: 'offline',
    });
    // Three heartbeats of TTL plus one reaper tick, with slack for the machine.
    expect(Date.now() - started).toBeLessThan(HEARTBEAT_MS * 4 + 3000);
    for (let i = 0; i < 3; i++) {
      await connect(b, frank);
    }
  });
});

/** A Redis of the spec's own, stopped and restarted under two nodes. */
describe('Chat cluster: Redis outage', () => {
  const schema = new TestSchema();
  const prefix = `chat-outage-${randomBytes(4).toString('hex')}:`;
  let redis: OwnRedis;
  let a: ChatNode;
  let b: ChatNode;

  beforeAll(async () => {
    await schema.create();
    redis = new OwnRedis(await freePort());
    await redis.start();
    a = new ChatNode(await freePort(), nodeEnv(schema, prefix, redis.url));
    b = new ChatNode(await freePort(), nodeEnv(schema, prefix, redis.url));
    await Promise.all([a.start(), b.start()]);
  }, 60_000);

  afterAll(async () => {
    for (const client of clients.splice(0)) {
      client.socket.terminate();
    }
    await Promise.all([a.stop(), b.stop()]);
    await redis.stop();
    await schema.drop();
  });

  it('keeps serving local clients, reports 503, and resumes cross-node delivery when Redis returns', async () => {
    const alice = await a.token('alice', 'wonderland');
    const bob = await a.token('bob', 'builder');
    const onA = await connect(a, alice);
    const onB = await connect(b, bob);

    await redis.stop();
    await eventually(
      async () => (await fetch(`${a.http}/health`)).status === 503,
      '/health 503',
    );
    // Local work that needs no cluster state still answers, fast.
    expect((await onA.request('ping', {})).event).toBe('ping');

    await redis.start();
    await eventually(
      async () => (await fetch(`${a.http}/health`)).status === 200,
      '/health 200 again',
    );
    await eventually(
      async () => (await fetch(`${b.http}/health`)).status === 200,
      'node b healthy',
    );
    // Presence restored by the heartbeat and the subscription renewed: a private crosses nodes.
    await eventually(
      async () => {
        const reply = await onA.request('private', {
          to: 'bob',
          text: 'back?',
        });
        if (reply.event !== 'private') {
          return false;
        }
        await onB.waitFor(
          (f) => f.event === 'private' && f.data.id === reply.data.id,
          'private',
          500,
        );
        return true;
      },
      'a private message to cross nodes after the restart',
      15_000,
    );
  });
});
