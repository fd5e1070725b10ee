import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { getDataSourceToken } from '@nestjs/typeorm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../src/config/app-config.constants.js';
import { loadAppConfig } from '../src/config/app-config.loader.js';
import { AppConfigModule } from '../src/config/app-config.module.js';
import { DatabaseModule } from '../src/database/database.module.js';
import { HistoryService } from '../src/database/history.service.js';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function createApp(sqlitePath: string): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [AppConfigModule, DatabaseModule],
  })
    .overrideProvider(APP_CONFIG)
    .useValue(loadAppConfig({ NODE_ENV: 'test', SQLITE_PATH: sqlitePath }))
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

function ids(messages: ReadonlyArray<{ id: string }>): number[] {
  return messages.map((message) => Number(message.id));
}

describe(`${HistoryService.name} (e2e, SQLite in memory)`, () => {
  let app: INestApplication;
  let history: HistoryService;
  /** Ids of the 25 messages of room "general", in order. */
  const general: string[] = [];

  beforeAll(async () => {
    app = await createApp(':memory:');
    history = app.get(HistoryService);
    for (let i = 1; i <= 25; i += 1) {
      const { id } = await history.append({
        kind: 'room',
        room: 'general',
        from: i % 2 === 0 ? 'alice' : 'bob',
        text: `general ${i}`,
      });
      general.push(id);
      // Interleave other rooms and private messages, which must not leak into "general".
      if (i % 5 === 0) {
        await history.append({
          kind: 'room',
          room: 'random',
          from: 'carol',
          text: `random ${i}`,
        });
        await history.append({
          kind: 'private',
          from: 'alice',
          to: 'bob',
          text: `a->b ${i}`,
        });
        await history.append({
          kind: 'private',
          from: 'bob',
          to: 'alice',
          text: `b->a ${i}`,
        });
        await history.append({
          kind: 'private',
          from: 'alice',
          to: 'carol',
          text: `a->c ${i}`,
        });
      }
    }
  });

  afterAll(async () => {
    await app.close();
  });

  it('answers append with a string id of increasing integers and an ISO-8601 UTC ts', async () => {
    const before = Date.now();
    const stored = await history.append({
      kind: 'room',
      room: 'solo',
      from: 'alice',
      text: 'hi',
    });
    expect(stored.id).toMatch(/^\d+$/);
    expect(stored.ts).toMatch(ISO_UTC);
    expect(Date.parse(stored.ts)).toBeGreaterThanOrEqual(before - 1);
    expect(Number(stored.id)).toBeGreaterThan(Number(general.at(-1)));
    const numeric = general.map(Number);
    expect(numeric).toEqual([...numeric].sort((a, b) => a - b));
    expect(new Set(numeric).size).toBe(numeric.length);
    // The message reads back exactly as append described it.
    await expect(history.roomHistory('solo')).resolves.toEqual([
      { id: stored.id, room: 'solo', from: 'alice', text: 'hi', ts: stored.ts },
    ]);
  });

  it('returns the newest `limit` room messages, oldest first, in the room shape', async () => {
    const messages = await history.roomHistory('general', { limit: 3 });
    expect(messages.map((m) => m.text)).toEqual([
      'general 23',
      'general 24',
      'general 25',
    ]);
    expect(messages.map((m) => m.id)).toEqual(general.slice(22));
    for (const message of messages) {
      expect(Object.keys(message).sort()).toEqual([
        'from',
        'id',
        'room',
        'text',
        'ts',
      ]);
      expect(message.room).toBe('general');
      expect(message.ts).toMatch(ISO_UTC);
    }
  });

  it('defaults to 50 messages and stays within the room', async () => {
    const messages = await history.roomHistory('general');
    expect(messages.map((m) => m.id)).toEqual(general);
    const random = await history.roomHistory('random');
    expect(random.map((m) => m.text)).toEqual([
      'random 5',
      'random 10',
      'random 15',
      'random 20',
      'random 25',
    ]);
  });

  it('with `after`, returns the first `limit` after it (ids compare as numbers)', async () => {
    const after = general[8] ?? ''; // message 9: ids beyond it have more digits
    const messages = await history.roomHistory('general', { after, limit: 4 });
    expect(messages.map((m) => m.text)).toEqual([
      'general 10',
      'general 11',
      'general 12',
      'general 13',
    ]);
    await expect(
      history.roomHistory('general', {
        after: general.at(-1) ?? '',
        limit: 10,
      }),
    ).resolves.toEqual([]);
    const numeric = await history.roomHistory('general', {
      after: Number(after),
      limit: 1,
    });
    expect(numeric.map((m) => m.text)).toEqual(['general 10']);
    const fromStart = await history.roomHistory('general', {
      after: '0',
      limit: 2,
    });
    expect(fromStart.map((m) => m.text)).toEqual(['general 1', 'general 2']);
  });

  it('with `before`, returns the newest `limit` before it', async () => {
    const messages = await history.roomHistory('general', {
      before: general[10] ?? '',
      limit: 3,
    });
    expect(messages.map((m) => m.text)).toEqual([
      'general 8',
      'general 9',
      'general 10',
    ]);
  });

  it('with `after` and `before`, returns the first `limit` between them', async () => {
    const messages = await history.roomHistory('general', {
      after: general[2] ?? '',
      before: general[6] ?? '',
      limit: 10,
    });
    expect(messages.map((m) => m.text)).toEqual([
      'general 4',
      'general 5',
      'general 6',
    ]);
  });

  it('pages through a whole room with `after` without gaps or repeats', async () => {
    const seen: string[] = [];
    let after = '0';
    for (;;) {
      const page = await history.roomHistory('general', { after, limit: 7 });
      if (page.length === 0) {
        break;
      }
      seen.push(...page.map((m) => m.id));
      after = page.at(-1)?.id ?? after;
    }
    expect(seen).toEqual(general);
  });

  it('returns private messages of both directions between two users only, in the private shape', async () => {
    const messages = await history.privateHistory('bob', 'alice');
    expect(messages).toHaveLength(10);
    expect(messages.map((m) => m.text).slice(0, 4)).toEqual([
      'a->b 5',
      'b->a 5',
      'a->b 10',
      'b->a 10',
    ]);
    for (const message of messages) {
      expect(Object.keys(message).sort()).toEqual([
        'from',
        'id',
        'text',
        'to',
        'ts',
      ]);
      expect([message.from, message.to].sort()).toEqual(['alice', 'bob']);
    }
    expect(ids(messages)).toEqual([...ids(messages)].sort((a, b) => a - b));
    const sameOrder = await history.privateHistory('alice', 'bob');
    expect(sameOrder).toEqual(messages);
    const carol = await history.privateHistory('carol', 'alice');
    expect(carol.map((m) => m.text)).toEqual([
      'a->c 5',
      'a->c 10',
      'a->c 15',
      'a->c 20',
      'a->c 25',
    ]);
    expect(carol[0]).toMatchObject({ from: 'alice', to: 'carol' });
  });

  it('pages private history like room history', async () => {
    const all = await history.privateHistory('alice', 'bob');
    const newest = await history.privateHistory('alice', 'bob', { limit: 2 });
    expect(newest).toEqual(all.slice(-2));
    const afterFirst = await history.privateHistory('alice', 'bob', {
      after: all[0]?.id ?? '',
      limit: 3,
    });
    expect(afterFirst).toEqual(all.slice(1, 4));
    const beforeLast = await history.privateHistory('alice', 'bob', {
      before: all.at(-1)?.id ?? '',
      limit: 2,
    });
    expect(beforeLast).toEqual(all.slice(-3, -1));
  });

  it('answers an empty list for an unknown room or pair', async () => {
    await expect(history.roomHistory('nowhere')).resolves.toEqual([]);
    await expect(history.privateHistory('dave', 'erin')).resolves.toEqual([]);
  });

  it('refuses bad cursors and limits with a RangeError', async () => {
    await expect(history.roomHistory('general', { limit: 0 })).rejects.toThrow(
      RangeError,
    );
    await expect(
      history.roomHistory('general', { limit: 101 }),
    ).rejects.toThrow(RangeError);
    await expect(
      history.roomHistory('general', { limit: 1.5 }),
    ).rejects.toThrow(RangeError);
    await expect(
      history.roomHistory('general', { after: 'abc' }),
    ).rejects.toThrow(RangeError);
    await expect(
      history.roomHistory('general', { before: '-1' }),
    ).rejects.toThrow(RangeError);
    await expect(
      history.privateHistory('a', 'b', { after: '99999999999999999999' }),
    ).rejects.toThrow(RangeError);
    await expect(
      history.roomHistory('general', { after: 1.5 }),
    ).rejects.toThrow(RangeError);
    await expect(
      history.roomHistory('general', { before: -3 }),
    ).rejects.toThrow(RangeError);
  });
});

describe(`${HistoryService.name} (e2e, SQLite file across restarts)`, () => {
  let directory: string;
  let path: string;

  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'chat-history-'));
    // A directory that does not exist yet: DatabaseModule creates it.
    path = join(directory, 'nested', 'data', 'chat.sqlite');
  });

  afterAll(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  it('keeps every acknowledged message across a restart, in WAL mode with full sync', async () => {
    const first = await createApp(path);
    const stored: string[] = [];
    try {
      const history = first.get(HistoryService);
      for (let i = 1; i <= 12; i += 1) {
        stored.push(
          (
            await history.append({
              kind: 'room',
              room: 'lobby',
              from: 'alice',
              text: `m${i}`,
            })
          ).id,
        );
      }
      stored.push(
        (
          await history.append({
            kind: 'private',
            from: 'alice',
            to: 'bob',
            text: 'psst',
          })
        ).id,
      );

      const dataSource = first.get<DataSource>(getDataSourceToken());
      const [mode] = (await dataSource.query('PRAGMA journal_mode')) as Array<{
        journal_mode: string;
      }>;
      const [sync] = (await dataSource.query('PRAGMA synchronous')) as Array<{
        synchronous: number;
      }>;
      expect(mode?.journal_mode).toBe('wal');
      expect(sync?.synchronous).toBe(2); // FULL

      // Another connection sees every acknowledged row while this process still has the file
      // open: nothing waits in this process's memory for a clean shutdown (SIGKILL-safe).
      const observer = await new DataSource({
        type: 'better-sqlite3',
        database: path,
      }).initialize();
      try {
        const [row] = (await observer.query(
          'SELECT count(*) AS n FROM "messages"',
        )) as Array<{ n: number }>;
        expect(row?.n).toBe(13);
      } finally {
        await observer.destroy();
      }
    } finally {
      await first.close();
    }

    const second = await createApp(path);
    try {
      const history = second.get(HistoryService);
      const lobby = await history.roomHistory('lobby');
      expect(lobby.map((m) => m.text)).toEqual(
        Array.from({ length: 12 }, (_, i) => `m${i + 1}`),
      );
      expect(lobby.map((m) => m.id)).toEqual(stored.slice(0, 12));
      await expect(
        history.privateHistory('bob', 'alice'),
      ).resolves.toMatchObject([
        { id: stored[12], from: 'alice', to: 'bob', text: 'psst' },
      ]);

      // Ids keep growing after a restart, even past a deleted newest row (AUTOINCREMENT).
      const dataSource = second.get<DataSource>(getDataSourceToken());
      await dataSource.query('DELETE FROM "messages" WHERE "id" = ?', [
        stored[12],
      ]);
      const next = await history.append({
        kind: 'room',
        room: 'lobby',
        from: 'bob',
        text: 'after',
      });
      expect(Number(next.id)).toBeGreaterThan(Number(stored[12]));
    } finally {
      await second.close();
    }
  });
});
