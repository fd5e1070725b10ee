import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChatApp, type RunningChatApp } from './support/chat-app.js';

/**
 * Durability across a restart of the real AppModule on one SQLite file: users registered and
 * messages acknowledged before `app.close()` are all there for a new application on the same file.
 */
describe('Chat server restart on the same SQLite file (e2e)', () => {
  let directory: string;
  let env: Record<string, string>;
  let chat: RunningChatApp | undefined;

  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'chat-restart-'));
    // A directory that does not exist yet, as on a fresh clone (./data/chat.sqlite).
    env = { SQLITE_PATH: join(directory, 'data', 'chat.sqlite') };
  });

  afterAll(async () => {
    await chat?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('keeps registered users and every acknowledged message; history returns them all after logging in again', async () => {
    chat = await startChatApp(env);
    await chat.register('rita');
    await chat.register('sam');
    const rita = await chat.connect(
      await chat.login('rita', 'password123'),
      '/ws/durable',
    );
    await rita.next('join');
    const sam = await chat.connect(
      await chat.login('sam', 'password123'),
      '/ws/durable',
    );
    await sam.next('join');

    const room: { id: string; text: string }[] = [];
    const direct: { id: string; text: string }[] = [];
    for (let i = 0; i < 5; i++) {
      const text = `room ${i}`;
      const reply = await (i % 2 ? sam : rita).request('message', {
        room: 'durable',
        text,
      });
      expect(reply.event).toBe('message');
      room.push({ id: String(reply.data.id), text });
    }
    for (const [from, text] of [
      [rita, 'psst 1'],
      [sam, 'psst 2'],
    ] as const) {
      const reply = await from.request('private', {
        to: from === rita ? 'sam' : 'rita',
        text,
      });
      expect(reply.event).toBe('private');
      direct.push({ id: String(reply.data.id), text });
    }
    // The last reply is sent, then the application closes at once.
    await chat.close();

    chat = await startChatApp(env);
    await chat
      .http()
      .post('/auth/register')
      .send({ username: 'rita', password: 'password123' })
      .expect(409);
    const again = await chat.connect(
      await chat.login('rita', 'password123'),
      '/ws/durable',
    );
    await again.next('join');
    const roomHistory = await again.request('history', { room: 'durable' });
    expect(
      (roomHistory.data.messages as { id: string; text: string }[]).map(
        ({ id, text }) => ({ id, text }),
      ),
    ).toEqual(room);
    const privateHistory = await again.request('history', { with: 'sam' });
    expect(privateHistory.data.messages).toEqual(
      direct.map(({ id, text }, index) => ({
        id,
        from: index === 0 ? 'rita' : 'sam',
        to: index === 0 ? 'sam' : 'rita',
        text,
        ts: expect.stringMatching(/Z$/),
      })),
    );
    const after = await again.request('history', {
      room: 'durable',
      after: room[1].id,
    });
    expect(
      (after.data.messages as { id: string }[]).map(({ id }) => id),
    ).toEqual(room.slice(2).map(({ id }) => id));

    const next = await again.request('message', {
      room: 'durable',
      text: 'after restart',
    });
    expect(BigInt(String(next.data.id))).toBeGreaterThan(
      BigInt(direct[direct.length - 1].id),
    );
  });
});
