import { UsersService } from '../src/auth/users.service.js';
import { startChatApp, type RunningChatApp } from './support/chat-app.js';
import type { Frame, WsTestClient } from './support/ws-test-client.js';

const isoDate = expect.stringMatching(
  /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
);
const numericId = expect.stringMatching(/^\d+$/);

describe('Chat server (e2e)', () => {
  let chat: RunningChatApp;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    chat = await startChatApp({
      CENSORED_WORDS: 'darn,heck',
      WS_RATE_LIMIT: '60',
    });
    alice = await chat.login('alice', 'wonderland');
    bob = await chat.login('bob', 'builder');
  });

  afterAll(async () => {
    await chat.close();
  });

  it('runs the seed flow: POST /token form, /ws/{room}?token=, chat, leave', async () => {
    const a = await chat.connect(alice, '/ws/seed');
    expect(await a.next('presence')).toEqual({
      event: 'presence',
      data: {
        room: 'seed',
        user: 'alice',
        action: 'join',
        text: 'alice has joined the chat',
      },
    });
    const joined = await a.next('join');
    expect(joined).toEqual({
      event: 'join',
      data: { room: 'seed', members: [{ user: 'alice', status: 'online' }] },
    });

    const reply = await a.request('message', { room: 'seed', text: 'Hello!' });
    expect(reply).toEqual({
      event: 'message',
      id: expect.anything(),
      data: { id: numericId, ts: isoDate },
    });
    expect(await a.next('message')).toEqual({
      event: 'message',
      data: {
        id: reply.data.id,
        room: 'seed',
        from: 'alice',
        text: 'Hello!',
        ts: reply.data.ts,
      },
    });

    expect((await a.request('leave', { room: 'seed' })).data).toEqual({
      room: 'seed',
    });
    expect((await a.next('presence')).data).toEqual({
      room: 'seed',
      user: 'alice',
      action: 'leave',
      text: 'alice has left the chat',
    });
  });

  it('advertises the chat rate limit in the welcome', async () => {
    const client = new (
      await import('./support/ws-test-client.js')
    ).WsTestClient(`${chat.url()}?token=${alice}`);
    const welcome = await client.next('welcome');
    expect(welcome.data).toEqual({
      user: 'alice',
      connectionId: expect.any(String),
      limits: { maxMessageBytes: 65536, rateLimitPerMinute: 60 },
    });
    client.close();
  });

  describe('rooms with several users and connections', () => {
    let a1: WsTestClient;
    let a2: WsTestClient;
    let b1: WsTestClient;

    beforeAll(async () => {
      a1 = await chat.connect(alice);
      a2 = await chat.connect(alice);
      b1 = await chat.connect(bob);
      await a1.request('join', { room: 'lobby' });
      await a1.next('presence');
    });

    afterAll(() => {
      for (const client of [a1, a2, b1]) {
        client.close();
      }
    });

    it('fires presence join when a user becomes a member, to every connection in the room', async () => {
      const reply = await b1.request('join', { room: 'lobby' });
      expect(reply.data).toEqual({
        room: 'lobby',
        members: expect.arrayContaining([
          { user: 'alice', status: 'online' },
          { user: 'bob', status: 'online' },
        ]),
      });
      const expected = {
        room: 'lobby',
        user: 'bob',
        action: 'join',
        text: 'bob has joined the chat',
      };
      expect((await a1.next('presence')).data).toEqual(expected);
      expect((await b1.next('presence')).data).toEqual(expected);
      // a2 never joined: membership is per connection.
      expect(a2.frames.filter((frame) => frame.event === 'presence')).toEqual(
        [],
      );
    });

    it('does not fire presence again when another connection of a member joins; counts users', async () => {
      await a2.request('join', { room: 'lobby' });
      const rooms = await a1.request('rooms', {});
      expect(rooms.data.rooms).toEqual(
        expect.arrayContaining([{ room: 'lobby', members: 2 }]),
      );
      const members = await b1.request('members', { room: 'lobby' });
      expect(members.data.members).toHaveLength(2);
      const ping = await b1.request('ping', {});
      expect(ping.event).toBe('ping');
      expect(b1.frames.filter((frame) => frame.event === 'presence')).toEqual(
        [],
      );
    });

    it("delivers a message to every connection in the room, the sender's included", async () => {
      const reply = await b1.request('message', {
        room: 'lobby',
        text: 'hi all',
      });
      for (const client of [a1, a2, b1]) {
        const frame = await client.next('message');
        expect(frame.data).toEqual({
          id: reply.data.id,
          room: 'lobby',
          from: 'bob',
          text: 'hi all',
          ts: reply.data.ts,
        });
      }
    });

    it('sends typing to the other members only', async () => {
      expect((await b1.request('typing', { room: 'lobby' })).data).toEqual({});
      expect((await a1.next('typing')).data).toEqual({
        room: 'lobby',
        user: 'bob',
      });
      expect((await a2.next('typing')).data).toEqual({
        room: 'lobby',
        user: 'bob',
      });
      await b1.request('ping', {});
      expect(b1.frames.filter((frame) => frame.event === 'typing')).toEqual([]);
    });

    it("broadcasts status to users sharing a room, the sender's connections included", async () => {
      expect((await a1.request('status', { status: 'away' })).data).toEqual({
        status: 'away',
      });
      for (const client of [a1, a2, b1]) {
        expect((await client.next('status')).data).toEqual({
          user: 'alice',
          status: 'away',
        });
      }
      const members = await b1.request('members', { room: 'lobby' });
      expect(members.data.members).toEqual(
        expect.arrayContaining([{ user: 'alice', status: 'away' }]),
      );
      await a1.request('status', { status: 'online' });
      await b1.next('status');
    });

    it("sends private messages to the recipient and the sender's other connections", async () => {
      const reply = await a1.request('private', { to: 'bob', text: 'psst' });
      expect(reply.data).toEqual({ id: numericId, ts: isoDate });
      const expected = {
        id: reply.data.id,
        from: 'alice',
        to: 'bob',
        text: 'psst',
        ts: reply.data.ts,
      };
      expect((await b1.next('private')).data).toEqual(expected);
      expect((await a2.next('private')).data).toEqual(expected);
      await a1.request('ping', {});
      expect(a1.frames.filter((frame) => frame.event === 'private')).toEqual(
        [],
      );
    });
  });

  it('answers FORBIDDEN for messages, typing and history of rooms not joined', async () => {
    const client = await chat.connect(alice);
    for (const [event, data] of [
      ['message', { room: 'elsewhere', text: 'x' }],
      ['typing', { room: 'elsewhere' }],
      ['history', { room: 'elsewhere' }],
    ] as const) {
      const reply = await client.request(event, data);
      expect(reply.event).toBe('exception');
      expect(reply.data).toMatchObject({
        status: 'error',
        code: 'FORBIDDEN',
        event,
      });
    }
    client.close();
  });

  it('answers NOT_FOUND for private messages to unknown users', async () => {
    const client = await chat.connect(alice);
    expect(
      (await client.request('private', { to: 'nobody-here', text: 'x' })).data,
    ).toMatchObject({
      code: 'NOT_FOUND',
    });
    client.close();
  });

  it.each([
    ['join', 'a bad room name', { room: 'bad room!' }, 'room'],
    ['join', 'no room', {}, 'room'],
    ['message', 'blank text', { room: 'lobby', text: '   ' }, 'text'],
    [
      'message',
      'text over 2000 chars',
      { room: 'lobby', text: 'x'.repeat(2001) },
      'text',
    ],
    ['status', 'offline (not settable)', { status: 'offline' }, 'status'],
    ['history', 'both room and with', { room: 'lobby', with: 'bob' }, 'with'],
    ['history', 'neither room nor with', {}, 'room'],
    ['history', 'limit 101', { room: 'lobby', limit: 101 }, 'limit'],
    [
      'history',
      'an after cursor past 2^63 - 1',
      { room: 'lobby', after: '9999999999999999999' },
      'after',
    ],
    [
      'history',
      'an after cursor with a leading zero',
      { room: 'lobby', after: '0123' },
      'after',
    ],
    [
      'history',
      'a before cursor of "00"',
      { with: 'bob', before: '00' },
      'before',
    ],
    ['private', 'no recipient', { text: 'x' }, 'to'],
  ])(
    'answers VALIDATION_FAILED for %s with %s',
    async (event, _what, data, field) => {
      const client = await chat.connect(alice);
      await client.request('join', { room: 'lobby' });
      const reply = await client.request(event, data);
      expect(reply.data).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(
        (reply.data.errors as { field: string }[]).map((error) => error.field),
      ).toContain(field);
      client.close();
    },
  );

  it('masks censored words (whole words, case-insensitive) before storing', async () => {
    const client = await chat.connect(alice);
    await client.request('join', { room: 'clean' });
    await client.request('message', {
      room: 'clean',
      text: 'Darn it, HECK! darning is fine',
    });
    const live = await client.next('message');
    expect(live.data.text).toBe('**** it, ****! darning is fine');
    const history = await client.request('history', { room: 'clean' });
    expect(
      (history.data.messages as Frame['data'][]).map((message) => message.text),
    ).toEqual(['**** it, ****! darning is fine']);
    client.close();
  });

  it('pages history oldest first with after, before and limit', async () => {
    const client = await chat.connect(alice);
    await client.request('join', { room: 'paged' });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push(
        String(
          (await client.request('message', { room: 'paged', text: `m${i}` }))
            .data.id,
        ),
      );
    }
    const texts = async (query: Record<string, unknown>): Promise<unknown[]> =>
      (
        (await client.request('history', { room: 'paged', ...query })).data
          .messages as { text: string }[]
      ).map((message) => message.text);
    expect(await texts({})).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    expect(await texts({ limit: 2 })).toEqual(['m4', 'm5']);
    expect(await texts({ after: ids[1], limit: 2 })).toEqual(['m2', 'm3']);
    expect(await texts({ before: ids[3], limit: 2 })).toEqual(['m1', 'm2']);
    expect(await texts({ after: ids[5] })).toEqual([]);
    client.close();
  });

  it('keeps private messages for offline recipients in history {"with"}', async () => {
    const carol = await chat.register('carol');
    const a = await chat.connect(alice);
    const sent = await a.request('private', {
      to: 'carol',
      text: 'while you were out',
    });
    const c = await chat.connect(carol);
    const history = await c.request('history', { with: 'alice' });
    expect(history.data.messages).toEqual([
      {
        id: sent.data.id,
        from: 'alice',
        to: 'carol',
        text: 'while you were out',
        ts: sent.data.ts,
      },
    ]);
    a.close();
    c.close();
  });

  it("says offline and leaves rooms when a user's last connection closes", async () => {
    const dave = await chat.register('dave');
    const d1 = await chat.connect(dave);
    const d2 = await chat.connect(dave);
    const b = await chat.connect(bob);
    await b.request('join', { room: 'watch' });
    await d1.request('join', { room: 'watch' });
    await b.waitFor(
      (frame) => frame.event === 'presence' && frame.data.user === 'dave',
      'dave joins',
    );
    d2.close();
    await d2.waitClosed();
    d1.close();
    const leave = await b.waitFor(
      (frame) => frame.event === 'presence' && frame.data.action === 'leave',
      'dave leaves',
    );
    expect(leave.data).toMatchObject({
      user: 'dave',
      action: 'leave',
      text: 'dave has left the chat',
    });
    expect((await b.next('status')).data).toEqual({
      user: 'dave',
      status: 'offline',
    });
    expect(
      (await b.request('members', { room: 'watch' })).data.members,
    ).toEqual([{ user: 'bob', status: 'online' }]);
    b.close();
  });

  it('closes 1008 "Invalid room" for /ws/{room} with a bad room, and "Invalid user" for a deleted user', async () => {
    const { WsTestClient } = await import('./support/ws-test-client.js');
    // A room with a space, an empty room and one with a slash: upgraded, then refused.
    for (const path of ['/ws/bad%20room', '/ws/', '/ws/a/b', '/ws/room/']) {
      const bad = new WsTestClient(`${chat.url(path)}?token=${alice}`);
      expect(await bad.waitClosed()).toEqual({
        code: 1008,
        reason: 'Invalid room',
      });
      expect(bad.httpStatus).toBeUndefined();
    }

    const erin = await chat.register('erin');
    await chat.app.get(UsersService).delete('erin');
    const deleted = new (
      await import('./support/ws-test-client.js')
    ).WsTestClient(`${chat.url()}?token=${erin}`);
    expect(await deleted.waitClosed()).toEqual({
      code: 1008,
      reason: 'Invalid user',
    });
  });

  it('reports connections, frames, rooms and online users in /stats', async () => {
    const before = (await chat.http().get('/stats').expect(200)).body as Record<
      string,
      number
    >;
    const client = await chat.connect(bob);
    await client.request('join', { room: 'stats-room' });
    const after = (await chat.http().get('/stats').expect(200)).body as Record<
      string,
      number
    >;
    expect(after.connections).toBe(before.connections + 1);
    expect(after.rooms).toBeGreaterThanOrEqual(1);
    expect(after.onlineUsers).toBeGreaterThanOrEqual(1);
    expect(after.messagesReceived).toBe(before.messagesReceived + 1);
    // welcome + presence + join reply
    expect(after.messagesSent).toBe(before.messagesSent + 3);
    client.close();
  });
});

describe('Chat server rate limit (e2e)', () => {
  it('answers RATE_LIMITED past WS_RATE_LIMIT chat messages a minute and does not deliver', async () => {
    const chat = await startChatApp({ WS_RATE_LIMIT: '3' });
    const a = await chat.connect(await chat.login('alice', 'wonderland'));
    const b = await chat.connect(await chat.login('bob', 'builder'));
    await a.request('join', { room: 'r' });
    await b.request('join', { room: 'r' });
    // An invalid message counts too.
    await a.request('message', { room: 'r', text: '' });
    await a.request('message', { room: 'r', text: 'one' });
    await a.request('private', { to: 'bob', text: 'two' });
    const limited = await a.request('message', { room: 'r', text: 'three' });
    expect(limited.data).toMatchObject({
      code: 'RATE_LIMITED',
      event: 'message',
    });
    expect(limited.data.retryAfterMs).toBeGreaterThan(0);
    // Other events are not limited.
    expect((await a.request('members', { room: 'r' })).event).toBe('members');
    await b.request('ping', {});
    expect(
      b.frames
        .filter((frame) => frame.event === 'message')
        .map((frame) => frame.data.text),
    ).toEqual(['one']);
    await chat.close();
  });
});
