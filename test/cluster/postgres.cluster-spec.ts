import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { getDataSourceToken } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AuthModule } from '../../src/auth/auth.module.js';
import { UsersService } from '../../src/auth/users.service.js';
import { APP_CONFIG } from '../../src/config/app-config.constants.js';
import { loadAppConfig } from '../../src/config/app-config.loader.js';
import { AppConfigModule } from '../../src/config/app-config.module.js';
import { DatabaseModule } from '../../src/database/database.module.js';
import { HistoryService } from '../../src/database/history.service.js';

/** The shared test database; one schema per run keeps runs apart. */
const BASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `chat_test_${process.pid}_${randomBytes(4).toString('hex')}`;
const SECRET = 'cluster-secret-0123456789-0123456789-01234';

/** The URL with `search_path` set to the run's schema (libpq `options`). */
function schemaUrl(): string {
  const url = new URL(BASE_URL);
  url.searchParams.set('options', `-c search_path=${SCHEMA}`);
  return url.toString();
}

async function createApp(): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [AppConfigModule, DatabaseModule, AuthModule],
  })
    .overrideProvider(APP_CONFIG)
    .useValue(
      loadAppConfig({
        NODE_ENV: 'test',
        DATABASE_URL: schemaUrl(),
        JWT_SECRET: SECRET,
        DEMO_USERS: 'true',
      }),
    )
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

function server(app: INestApplication): Server {
  return app.getHttpServer() as Server;
}

describe('PostgreSQL (cluster)', () => {
  let admin: DataSource;
  let nodeA: INestApplication | undefined;
  let nodeB: INestApplication | undefined;

  beforeAll(async () => {
    admin = await new DataSource({
      type: 'postgres',
      url: BASE_URL,
      poolSize: 1,
    }).initialize();
    await admin.query(`CREATE SCHEMA "${SCHEMA}"`);
  });

  afterAll(async () => {
    await nodeA?.close();
    await nodeB?.close();
    await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await admin.destroy();
  });

  it('migrates a fresh schema and seeds the demo users with two nodes starting at once', async () => {
    const started = await Promise.allSettled([createApp(), createApp()]);
    // Keep whichever started, so that afterAll closes it even if the other failed.
    [nodeA, nodeB] = started.map((result) =>
      result.status === 'fulfilled' ? result.value : undefined,
    );
    for (const result of started) {
      if (result.status === 'rejected') {
        throw result.reason;
      }
    }
    const tables = (await admin.query(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [SCHEMA],
    )) as Array<{ table_name: string }>;
    expect(tables.map((t) => t.table_name)).toEqual([
      'messages',
      'migrations',
      'users',
    ]);
    const users = (await admin.query(
      `SELECT username FROM "${SCHEMA}"."users" ORDER BY username`,
    )) as Array<{ username: string }>;
    expect(users.map((u) => u.username)).toEqual(['alice', 'bob']);
  });

  describe('users', () => {
    it('registers, refuses a taken name (also concurrently, across nodes) and logs in', async () => {
      if (nodeA === undefined || nodeB === undefined) {
        throw new Error('the nodes did not start');
      }
      const attempts = await Promise.all(
        [nodeA, nodeB, nodeA, nodeB].map((node) =>
          request(server(node))
            .post('/auth/register')
            .send({ username: 'pg.user', password: 'pg-password' }),
        ),
      );
      expect(attempts.map((r) => r.status).sort((a, b) => a - b)).toEqual([
        201, 409, 409, 409,
      ]);

      const login = await request(server(nodeB))
        .post('/token')
        .type('form')
        .send('grant_type=password&username=pg.user&password=pg-password')
        .expect(200);
      const token = (login.body as { access_token: string }).access_token;
      // A token from one node works on the other (shared secret and database).
      await request(server(nodeA))
        .get('/auth/me')
        .set('Authorization', `Bearer ${token}`)
        .expect(200)
        .expect({ username: 'pg.user' });

      await request(server(nodeA))
        .post('/auth/token')
        .send({ username: 'pg.user', password: 'wrong-password' })
        .expect(401)
        .expect('WWW-Authenticate', 'Bearer');
      await request(server(nodeA))
        .post('/auth/token')
        .send({ username: 'alice', password: 'wonderland' })
        .expect(200);

      await expect(nodeB.get(UsersService).delete('pg.user')).resolves.toBe(
        true,
      );
      const gone = await request(server(nodeA))
        .get('/auth/me')
        .set('Authorization', `Bearer ${token}`)
        .expect(401);
      expect(gone.body).toEqual({ statusCode: 401, message: 'Invalid user' });
    });
  });

  describe('history', () => {
    it('stores and pages room and private messages with string ids', async () => {
      if (nodeA === undefined) {
        throw new Error('the node did not start');
      }
      const history = nodeA.get(HistoryService);
      const stored = [];
      for (let i = 1; i <= 12; i += 1) {
        stored.push(
          await history.append({
            kind: 'room',
            room: 'pg-room',
            from: 'alice',
            text: `r${i}`,
          }),
        );
        if (i % 4 === 0) {
          await history.append({
            kind: 'private',
            from: 'alice',
            to: 'bob',
            text: `ab${i}`,
          });
          await history.append({
            kind: 'private',
            from: 'bob',
            to: 'alice',
            text: `ba${i}`,
          });
        }
      }
      for (const { id, ts } of stored) {
        expect(typeof id).toBe('string');
        expect(id).toMatch(/^\d+$/);
        expect(ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      }

      const newest = await history.roomHistory('pg-room', { limit: 3 });
      expect(newest).toEqual(
        stored.slice(-3).map(({ id, ts }, i) => ({
          id,
          room: 'pg-room',
          from: 'alice',
          text: `r${10 + i}`,
          ts,
        })),
      );
      const afterNine = await history.roomHistory('pg-room', {
        after: stored[8]?.id,
        limit: 2,
      });
      expect(afterNine.map((m) => m.text)).toEqual(['r10', 'r11']);
      const beforeThree = await history.roomHistory('pg-room', {
        before: stored[2]?.id,
        limit: 5,
      });
      expect(beforeThree.map((m) => m.text)).toEqual(['r1', 'r2']);

      const conversation = await history.privateHistory('bob', 'alice');
      expect(conversation.map((m) => m.text)).toEqual([
        'ab4',
        'ba4',
        'ab8',
        'ba8',
        'ab12',
        'ba12',
      ]);
      expect(conversation[1]).toMatchObject({ from: 'bob', to: 'alice' });
      expect(Object.keys(conversation[0] ?? {}).sort()).toEqual([
        'from',
        'id',
        'text',
        'to',
        'ts',
      ]);
      const page = await history.privateHistory('alice', 'bob', {
        after: conversation[1]?.id,
        limit: 2,
      });
      expect(page).toEqual(conversation.slice(2, 4));
    });

    it('makes ids visible in increasing order while two nodes write at once', async () => {
      if (nodeA === undefined || nodeB === undefined) {
        throw new Error('the nodes did not start');
      }
      const writers = [nodeA.get(HistoryService), nodeB.get(HistoryService)];
      const reader = nodeA.get(HistoryService);
      const total = 200;
      let writing = true;
      const written = Promise.all(
        Array.from({ length: total }, (_, i) =>
          writers[i % 2]?.append({
            kind: 'room',
            room: 'race',
            from: 'bob',
            text: `w${i}`,
          }),
        ),
      ).finally(() => {
        writing = false;
      });

      // A client that keeps asking for what came after the last id it saw must see all.
      const seen: string[] = [];
      let after = '0';
      for (let reads = 0; reads < 10_000; reads += 1) {
        const stillWriting = writing;
        const page = await reader.roomHistory('race', { after, limit: 100 });
        seen.push(...page.map((m) => m.id));
        after = page.at(-1)?.id ?? after;
        if (!stillWriting && page.length === 0) {
          break;
        }
      }
      const acknowledged = (await written).map((ref) => ref?.id ?? '');
      const sorted = [...acknowledged].sort((a, b) => Number(a) - Number(b));
      expect(new Set(acknowledged).size).toBe(total);
      expect(seen).toEqual(sorted);
    });

    it('keeps the history across a restart and goes on with larger ids', async () => {
      if (nodeA === undefined) {
        throw new Error('the node did not start');
      }
      const before = await nodeA.get(HistoryService).roomHistory('pg-room');
      const dataSource = nodeA.get<DataSource>(getDataSourceToken());
      const [{ max }] = (await dataSource.query(
        'SELECT max(id) AS max FROM "messages"',
      )) as [{ max: string }];
      await nodeA.close();
      nodeA = await createApp();
      const history = nodeA.get(HistoryService);
      await expect(history.roomHistory('pg-room')).resolves.toEqual(before);
      const next = await history.append({
        kind: 'room',
        room: 'pg-room',
        from: 'bob',
        text: 'later',
      });
      expect(BigInt(next.id)).toBeGreaterThan(BigInt(max));
    });
  });
});
