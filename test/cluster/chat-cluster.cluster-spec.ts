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
/** Chat messages per user per minute (`WS_RATE_LIMIT`). */
const RATE_LIMIT = 40;

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
    WS_RATE_LIMIT: String(RATE_LIMIT),
    WS_MAX_CONNECTIONS_PER_USER: '3',
    WS_MAX_CONNECTIONS_PER_IP: '8',
    DEMO_USERS: 'true',
    LOG_LEVEL: 'warn',
  };
}

const clients: WsTestClient[] = [];
/**
 * The loopback address the clients of the current test connect from (all of 127/8 is local on
 * Linux): one per test, so that the per-IP connection counts of one test do not spill into the next.
 */
let localAddress = '127.0.0.1';
let addressCount = 0;
function nextLocalAddress(): void {
  addressCount += 1;
  localAddress = `127.0.${Math.floor(addressCount / 250) + 1}.${(addressCount % 250) + 1}`;
}

function openClient(node: ChatNode, token: string, path = '/ws'): WsTestClient {
  const client = new WsTestClient(
    `${node.url(path)}?token=${token}`,
    undefined,
    { localAddress },
  );
  clients.push(client);
  return client;
}

async function connect(
  node: ChatNode,
  token: string,
  path = '/ws',
): Promise<WsTestClient> {
  const client = openClient(node, token, path);
  await client.next('welcome', 5000);
  if (path.startsWith('/ws/')) {
    await client.next('join', 5000);
  }
  return client;
}

/**
 * Sends a room message from `sender` and waits until every client got it: every frame published
 * before it (replies awaited) has then reached every client, since Redis relays publications in
 * order and each node delivers them in order.
 */
async function barrier(
  sender: WsTestClient,
  room: string,
  everyone: WsTestClient[],
): Promise<void> {
  const reply = await sender.request('message', { room, text: 'barrier' });
  expect(reply.event).toBe('message');
  for (const client of everyone) {
    await client.waitFor(
      (f) => f.event === 'message' && f.data.id === reply.data.id,
      'the barrier message',
      5000,
    );
  }
}

function count(
  client: WsTestClient,
  predicate: (frame: Frame) => boolean,
): number {
  return client.frames.filter(predicate).length;
}

/** The value of an unlabelled counter or gauge in a node's `GET /metrics` (0 when absent). */
async function metric(node: ChatNode, name: string): Promise<number> {
  const text = await (await fetch(`${node.http}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return Number(match?.[1] ?? 0);
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

  beforeEach(() => nextLocalAddress());

  afterEach(() => {
    for (const client of clients.splice(0)) {
      client.socket.terminate();
    }
  });

  afterAll(async () => {
    // The run's keys and schema go even if a node fails to stop.
    try {
      await Promise.all(nodes.map((node) => node.stop()));
    } finally {
      const redis = new Redis('redis://127.0.0.1:6379');
      try {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) {
          await redis.del(...keys);
        }
      } finally {
        redis.disconnect();
        await schema.drop();
      }
    }
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

  it("keeps the order of one sender's pipelined messages on every node, each delivered once", async () => {
    // A user of its own, so that its 31 messages stay under the rate limit.
    const oscar = await a.token('oscar', 'password123', true);
    const sender = await connect(a, oscar, '/ws/order');
    const everyone = [
      sender,
      await connect(b, oscar, '/ws/order'), // the sender's other connection
      await connect(b, await b.token('bob', 'builder'), '/ws/order'),
      await connect(c, await c.token('alice', 'wonderland'), '/ws/order'),
    ];
    await barrier(sender, 'order', everyone);
    const texts = Array.from({ length: 30 }, (_, i) => `m${i}`);
    // Sent back to back, without waiting for replies.
    const ids = texts.map((text) =>
      sender.emit('message', { room: 'order', text }),
    );
    const replies = [];
    for (const id of ids) {
      replies.push(
        await sender.waitFor((f) => f.id === id, `reply #${id}`, 10_000),
      );
    }
    expect(replies.map((reply) => reply.event)).toEqual(
      texts.map(() => 'message'),
    );
    const acknowledged = replies.map((reply) => reply.data.id as string);
    expect([...acknowledged].sort((x, y) => Number(x) - Number(y))).toEqual(
      acknowledged,
    );
    for (const client of everyone) {
      const got: string[] = [];
      for (let i = 0; i < texts.length; i++) {
        const frame = await client.next('message', 10_000);
        got.push(`${String(frame.data.id)}:${String(frame.data.text)}`);
      }
      expect(got).toEqual(acknowledged.map((id, i) => `${id}:${texts[i]}`));
    }
    await barrier(everyone[3], 'order', everyone);
    for (const client of everyone) {
      expect(count(client, (f) => f.event === 'message')).toBe(0);
    }
  });

  it('delivers typing, status, private and presence across nodes exactly once to each connection', async () => {
    const alice = await a.token('alice', 'wonderland');
    const aliceOnA = await connect(a, alice, '/ws/once');
    const aliceOnC = await connect(c, alice, '/ws/once');
    const bob = await connect(b, await b.token('bob', 'builder'), '/ws/once');
    const carol = await connect(
      c,
      await c.token('carol', 'password123', true),
      '/ws/once',
    );
    const everyone = [aliceOnA, aliceOnC, bob, carol];
    await barrier(carol, 'once', everyone);
    for (const client of everyone) {
      client.frames.length = 0;
    }

    expect((await bob.request('typing', { room: 'once' })).event).toBe(
      'typing',
    );
    expect((await carol.request('status', { status: 'busy' })).event).toBe(
      'status',
    );
    const sent = await aliceOnA.request('private', { to: 'bob', text: 'dm' });
    expect(sent.event).toBe('private');
    const dave = openClient(b, await b.token('dave', 'password123', true));
    await dave.next('welcome', 5000);
    expect((await dave.request('join', { room: 'once' })).event).toBe('join');
    everyone.push(dave);
    await barrier(bob, 'once', everyone);

    const tally = (client: WsTestClient): Record<string, number> => {
      const counts: Record<string, number> = {};
      for (const frame of client.frames) {
        if (frame.id === undefined) {
          counts[frame.event] = (counts[frame.event] ?? 0) + 1;
        }
      }
      return counts;
    };
    // Pushed frames only (replies carry an id): typing to the others, status to everyone sharing
    // the room (carol included), private to bob and alice's other connection, presence to all.
    expect(everyone.map(tally)).toEqual([
      { typing: 1, status: 1, presence: 1 },
      { typing: 1, status: 1, private: 1, presence: 1 },
      { status: 1, private: 1, presence: 1 },
      { typing: 1, status: 1, presence: 1 },
      { presence: 1 },
    ]);
    expect(
      aliceOnC.frames.find((f) => f.event === 'private')?.data,
    ).toMatchObject({ id: sent.data.id, from: 'alice', to: 'bob' });
    expect(carol.frames.find((f) => f.event === 'typing')?.data).toEqual({
      room: 'once',
      user: 'bob',
    });
  });

  it('shares the per-user rate limit across nodes', async () => {
    const dave = await a.token('dave', 'password123', true);
    const onA = await connect(a, dave);
    const onB = await connect(b, dave);
    // Half of the allowance on each node; the next one, on either, is over the shared limit.
    for (let i = 0; i < RATE_LIMIT; i++) {
      const [via, name] = i % 2 === 0 ? [onA, 'a'] : [onB, 'b'];
      expect(
        (await via.request('private', { to: 'alice', text: `${name}${i}` }))
          .event,
      ).toBe('private');
    }
    const limited = await onB.request('private', { to: 'alice', text: 'over' });
    expect(limited.data).toMatchObject({ code: 'RATE_LIMITED' });
    expect(limited.data.retryAfterMs).toBeGreaterThan(0);
    expect(limited.data.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('shares the login lockout across nodes', async () => {
    await a.token('gina', 'password123', true);
    const attempt = (node: ChatNode, password: string) =>
      fetch(`${node.http}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: 'gina', password }).toString(),
      });
    // Five failures spread over the three nodes lock the name out for this address everywhere.
    for (const node of [a, b, c, a, b]) {
      expect((await attempt(node, 'wrong-password')).status).toBe(401);
    }
    for (const node of [c, a]) {
      const locked = await attempt(node, 'password123');
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    }
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

  it('shares the per-IP connection limit across nodes', async () => {
    const tokens = {
      alice: await a.token('alice', 'wonderland'),
      bob: await a.token('bob', 'builder'),
      carol: await a.token('carol', 'password123', true),
    };
    // Eight connections from one address, spread over the three nodes (at most 3 per user).
    const plan: [ChatNode, keyof typeof tokens][] = [
      [a, 'alice'],
      [b, 'alice'],
      [c, 'alice'],
      [a, 'bob'],
      [b, 'bob'],
      [c, 'bob'],
      [a, 'carol'],
      [b, 'carol'],
    ];
    const open: WsTestClient[] = [];
    for (const [node, user] of plan) {
      open.push(await connect(node, tokens[user]));
    }
    const ninth = openClient(c, tokens.carol);
    expect(await ninth.waitClosed(5000)).toEqual({
      code: 1008,
      reason: 'Too many connections',
    });
    // One closes on node b: the address may connect again on node c.
    open[4]?.close();
    await open[4]?.waitClosed(5000);
    await eventually(async () => {
      const retry = openClient(c, tokens.carol);
      const first = await retry.waitFor(() => true, 'welcome or close', 5000);
      return first.event === 'welcome';
    }, 'a ninth connection to be accepted once one of the eight closed');
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

  it('keeps a deployment with another key prefix on the same Redis apart', async () => {
    // Its prefix extends the run's, so that the cleanup of the run's keys takes its keys too.
    const other = new ChatNode(
      await freePort(),
      nodeEnv(schema, `${prefix}other:`, 'redis://127.0.0.1:6379'),
    );
    nodes.push(other);
    await other.start();
    const alice = await a.token('alice', 'wonderland');
    for (let i = 0; i < 3; i++) {
      await connect(a, alice, '/ws/same-name');
    }
    // alice's three connections (the per-user limit) are not counted by the other deployment.
    const elsewhere = await connect(other, alice, '/ws/same-name');
    const bob = await connect(other, await other.token('bob', 'builder'));
    expect((await bob.request('members', { room: 'same-name' })).data).toEqual({
      room: 'same-name',
      members: [{ user: 'alice', status: 'online' }],
    });
    expect(
      (await elsewhere.request('rooms', {})).data.rooms as unknown[],
    ).toEqual([{ room: 'same-name', members: 1 }]);
    await other.stop();
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

  it('shows the users of a SIGKILLed node offline, releases its connection counts, and loses nothing it acknowledged', async () => {
    const frank = await a.token('frank', 'password123', true);
    const watcher = await connect(
      a,
      await a.token('alice', 'wonderland'),
      '/ws/doomed',
    );
    const franks: WsTestClient[] = [];
    for (let i = 0; i < 3; i++) {
      franks.push(await connect(c, frank, '/ws/doomed'));
    }
    await watcher.waitFor(
      (f) => f.event === 'presence' && f.data.user === 'frank',
      'frank joins',
      5000,
    );
    const before = await watcher.request('message', {
      room: 'doomed',
      text: 'before',
    });
    // Killed right after the reply to frank's last message.
    const last = await franks[0]?.request('message', {
      room: 'doomed',
      text: 'last words',
    });
    expect(last?.event).toBe('message');
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
    // The README's bound: entries live three heartbeats past their last refresh and some node
    // reaps at least every two, so at most five heartbeats (plus slack for a shared machine).
    expect(Date.now() - started).toBeLessThan(HEARTBEAT_MS * 5 + 2000);
    const back = await connect(b, frank, '/ws/doomed');
    for (let i = 0; i < 2; i++) {
      await connect(b, frank, '/ws/doomed');
    }
    const history = await back.request('history', {
      room: 'doomed',
      after: before.data.id,
    });
    expect(
      (history.data.messages as { id: string; text: string }[]).map(
        ({ id, text }) => [id, text],
      ),
    ).toEqual([[last?.data.id, 'last words']]);
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
    try {
      await Promise.all([a.stop(), b.stop()]);
      await redis.stop();
    } finally {
      await schema.drop();
    }
  });

  it('keeps serving local clients, reports 503, and resumes cross-node delivery when Redis returns', async () => {
    const onA = await connect(
      a,
      await a.token('alice', 'wonderland'),
      '/ws/outage',
    );
    const carolOnA = await connect(
      a,
      await a.token('carol', 'password123', true),
      '/ws/outage',
    );
    const onB = await connect(b, await b.token('bob', 'builder'), '/ws/outage');
    await onA.waitFor(
      (f) => f.event === 'presence' && f.data.user === 'bob',
      'bob joins (seen on A)',
      5000,
    );
    expect((await onB.request('status', { status: 'away' })).event).toBe(
      'status',
    );
    const before = await onB.request('message', {
      room: 'outage',
      text: 'before',
    });
    await onA.waitFor(
      (f) => f.event === 'message' && f.data.id === before.data.id,
      'the message before the outage (on A)',
      5000,
    );
    const failuresBefore = await metric(
      a,
      'chat_pubsub_publish_failures_total',
    );

    await redis.stop();
    await eventually(
      async () => (await fetch(`${a.http}/health`)).status === 503,
      '/health 503',
    );
    // Local clients are still served, fast: ping, a room message among this node's members,
    // a private message, and even a new connection that joins the room.
    expect((await onA.request('ping', {})).event).toBe('ping');
    const sentAt = Date.now();
    const during = await onA.request('message', {
      room: 'outage',
      text: 'during',
    });
    expect(during.event).toBe('message');
    expect(Date.now() - sentAt).toBeLessThan(1500);
    expect(
      (
        await carolOnA.waitFor(
          (f) => f.event === 'message' && f.data.id === during.data.id,
          'the message sent during the outage (carol, same node)',
          5000,
        )
      ).data,
    ).toMatchObject({ from: 'alice', text: 'during' });
    const dm = await onA.request('private', { to: 'carol', text: 'local dm' });
    expect(dm.event).toBe('private');
    await carolOnA.waitFor(
      (f) => f.event === 'private' && f.data.id === dm.data.id,
      'the private message sent during the outage',
      5000,
    );
    const late = await connect(a, await a.token('dave', 'password123', true));
    const joined = await late.request('join', { room: 'outage' });
    expect(joined.event).toBe('join');
    expect(
      (joined.data.members as { user: string }[]).map((m) => m.user).sort(),
    ).toEqual(['alice', 'carol', 'dave']);
    // The cross-node part failed fast and was counted, not queued.
    expect(
      await metric(a, 'chat_pubsub_publish_failures_total'),
    ).toBeGreaterThan(failuresBefore);

    await redis.start();
    await eventually(
      async () => (await fetch(`${a.http}/health`)).status === 200,
      '/health 200 again',
    );
    await eventually(
      async () => (await fetch(`${b.http}/health`)).status === 200,
      'node b healthy',
    );
    // bob (other node) missed "during" live, and recovers it with history after.
    const recovered = await onB.request('history', {
      room: 'outage',
      after: before.data.id,
    });
    expect(
      (recovered.data.messages as { text: string }[]).map((m) => m.text),
    ).toEqual(['during']);
    // The heartbeats restore presence and statuses in the new Redis (it lost everything).
    await eventually(async () => {
      const members = await onB.request('members', { room: 'outage' });
      const shown = (members.data.members as { user: string; status: string }[])
        .map(({ user, status }) => `${user}:${status}`)
        .sort();
      return (
        JSON.stringify(shown) ===
        JSON.stringify([
          'alice:online',
          'bob:away',
          'carol:online',
          'dave:online',
        ])
      );
    }, 'members of outage, with statuses, restored in the new Redis');
    // The subscriptions are renewed: a room message and a private message cross nodes again.
    await eventually(
      async () => {
        const reply = await onB.request('message', {
          room: 'outage',
          text: 'back?',
        });
        if (reply.event !== 'message') {
          return false;
        }
        await onA.waitFor(
          (f) => f.event === 'message' && f.data.id === reply.data.id,
          'a room message from B',
          500,
        );
        return true;
      },
      'a room message to cross nodes after the restart',
      15_000,
    );
    const crossing = await onA.request('private', { to: 'bob', text: 'hi b' });
    expect(
      (
        await onB.waitFor(
          (f) => f.event === 'private' && f.data.id === crossing.data.id,
          'a private message from A after the restart',
          5000,
        )
      ).data,
    ).toMatchObject({ from: 'alice', text: 'hi b' });
  });
});
