import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createHmac } from 'node:crypto';
import type { Server } from 'node:http';
import request from 'supertest';
import { AuthModule } from '../src/auth/auth.module.js';
import { DemoUsersSeeder } from '../src/auth/demo-users.seeder.js';
import { LoginAttemptStore } from '../src/auth/login-attempt-store.interface.js';
import { MemoryLoginAttemptStore } from '../src/auth/memory-login-attempt.store.js';
import { PasswordHasher } from '../src/auth/password.hasher.js';
import { UsersService } from '../src/auth/users.service.js';
import { APP_CONFIG } from '../src/config/app-config.constants.js';
import { loadAppConfig } from '../src/config/app-config.loader.js';
import { AppConfigModule } from '../src/config/app-config.module.js';
import { DatabaseModule } from '../src/database/database.module.js';

const SECRET = 'e2e-secret-0123456789-0123456789-0123456789';
const FIFTEEN_MINUTES = 15 * 60 * 1000;

interface TestApp {
  app: INestApplication;
  server: Server;
}

async function createApp(
  env: NodeJS.ProcessEnv = {},
  store?: LoginAttemptStore,
): Promise<TestApp> {
  let builder = Test.createTestingModule({
    imports: [AppConfigModule, DatabaseModule, AuthModule],
  })
    .overrideProvider(APP_CONFIG)
    .useValue(
      loadAppConfig({
        NODE_ENV: 'test',
        SQLITE_PATH: ':memory:',
        JWT_SECRET: SECRET,
        ...env,
      }),
    );
  if (store !== undefined) {
    builder = builder.overrideProvider(LoginAttemptStore).useValue(store);
  }
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return { app, server: app.getHttpServer() as Server };
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A JWT signed by hand, to forge what the server must refuse. */
function forgeToken(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  secret = SECRET,
): string {
  const body = `${base64url(header)}.${base64url(payload)}`;
  const alg = header.alg;
  if (alg === 'none') {
    return `${body}.`;
  }
  const hash = alg === 'HS512' ? 'sha512' : 'sha256';
  return `${body}.${createHmac(hash, secret).update(body).digest('base64url')}`;
}

function decodePart(token: string, index: number): Record<string, unknown> {
  const part = token.split('.')[index] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** Counts the calls of one method (`jest.spyOn` needs `@jest/globals` under ESM). */
function countCalls<T extends object>(
  target: T,
  method: keyof T & string,
): { calls: () => number; restore: () => void } {
  const original: unknown = target[method];
  if (typeof original !== 'function') {
    throw new Error(`${method} is not a method`);
  }
  let calls = 0;
  Object.defineProperty(target, method, {
    configurable: true,
    value: (...args: unknown[]): unknown => {
      calls += 1;
      return Reflect.apply(original, target, args);
    },
  });
  return {
    calls: () => calls,
    restore: () => {
      Reflect.deleteProperty(target, method);
    },
  };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

describe('Auth (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createApp();
  });

  afterAll(async () => {
    await t.app.close();
  });

  async function tokenFor(username: string, password: string): Promise<string> {
    const response = await request(t.server)
      .post('/auth/token')
      .send({ username, password })
      .expect(200);
    const body = response.body as { access_token: string };
    return body.access_token;
  }

  describe('POST /auth/register', () => {
    it('registers a user: 201 {username}, who can then log in', async () => {
      await request(t.server)
        .post('/auth/register')
        .send({ username: 'carol.c-1_x', password: 'carol-password' })
        .expect(201)
        .expect({ username: 'carol.c-1_x' });
      await tokenFor('carol.c-1_x', 'carol-password');
    });

    it('answers 409 when the username is taken', async () => {
      const response = await request(t.server)
        .post('/auth/register')
        .send({ username: 'alice', password: 'another-password' })
        .expect(409);
      expect(response.body).toMatchObject({ statusCode: 409 });
      // The demo user's password is unchanged.
      await tokenFor('alice', 'wonderland');
    });

    it('answers 409 to a concurrent duplicate registration', async () => {
      const attempts = await Promise.all(
        [1, 2, 3].map(() =>
          request(t.server)
            .post('/auth/register')
            .send({ username: 'racer', password: 'racer-password' }),
        ),
      );
      expect(attempts.map((r) => r.status).sort((a, b) => a - b)).toEqual([
        201, 409, 409,
      ]);
    });

    it.each([
      [
        'a too short username',
        { username: 'ab', password: 'password1' },
        'username',
      ],
      [
        'a too long username',
        { username: 'u'.repeat(33), password: 'password1' },
        'username',
      ],
      [
        'a username with a space',
        { username: 'bad name', password: 'password1' },
        'username',
      ],
      [
        'a too short password',
        { username: 'dave', password: 'short' },
        'password',
      ],
      [
        'a too long password',
        { username: 'dave', password: 'p'.repeat(129) },
        'password',
      ],
      ['a missing password', { username: 'dave' }, 'password'],
      [
        'a numeric username',
        { username: 12345, password: 'password1' },
        'username',
      ],
      [
        'an array password',
        { username: 'dave', password: ['password1'] },
        'password',
      ],
      [
        'an object username',
        { username: { $ne: '' }, password: 'password1' },
        'username',
      ],
      [
        'an unknown field',
        { username: 'dave', password: 'password1', admin: true },
        'admin',
      ],
    ])(
      'answers 400 in the ValidationPipe shape to %s',
      async (_case, body, field) => {
        const response = await request(t.server)
          .post('/auth/register')
          .send(body)
          .expect(400);
        const payload = response.body as {
          statusCode: number;
          error: string;
          message: string[];
        };
        expect(payload.statusCode).toBe(400);
        expect(payload.error).toBe('Bad Request');
        expect(Array.isArray(payload.message)).toBe(true);
        expect(payload.message.some((m) => m.includes(field))).toBe(true);
      },
    );

    it('answers 400 to a JSON array body', async () => {
      await request(t.server)
        .post('/auth/register')
        .send([{ username: 'dave', password: 'password1' }])
        .expect(400);
    });
  });

  describe('POST /token and /auth/token', () => {
    it('accepts the FastAPI seed flow: form-encoded OAuth2 password grant on /token', async () => {
      const response = await request(t.server)
        .post('/token')
        .type('form')
        .send(
          'grant_type=password&username=alice&password=wonderland&scope=&client_id=&client_secret=',
        )
        .expect(200)
        .expect('Cache-Control', 'no-store');
      const body = response.body as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual([
        'access_token',
        'expires_in',
        'token_type',
      ]);
      expect(body.token_type).toBe('bearer');
      expect(body.expires_in).toBe(1800);
      const token = String(body.access_token);
      expect(decodePart(token, 0)).toMatchObject({ alg: 'HS256' });
      const claims = decodePart(token, 1);
      expect(claims.sub).toBe('alice');
      expect(typeof claims.jti).toBe('string');
      expect(Number(claims.exp) - Number(claims.iat)).toBe(1800);
      expect(Math.abs(Number(claims.iat) - nowSeconds())).toBeLessThan(5);
    });

    it('accepts a form with only username and password, and JSON, on both routes', async () => {
      await request(t.server)
        .post('/auth/token')
        .type('form')
        .send({ username: 'bob', password: 'builder' })
        .expect(200);
      await request(t.server)
        .post('/token')
        .send({ username: 'bob', password: 'builder' })
        .expect(200);
    });

    it('accepts multipart/form-data, as FastAPI does', async () => {
      const response = await request(t.server)
        .post('/token')
        .field('username', 'bob')
        .field('password', 'builder')
        .expect(200);
      expect((response.body as { token_type: string }).token_type).toBe(
        'bearer',
      );
    });

    it('gives every token a different jti', async () => {
      const first = await tokenFor('bob', 'builder');
      const second = await tokenFor('bob', 'builder');
      expect(decodePart(first, 1).jti).not.toBe(decodePart(second, 1).jti);
    });

    it('answers 401 with WWW-Authenticate: Bearer, the same for a wrong password and an unknown user', async () => {
      const hasher = t.app.get(PasswordHasher);
      const dummy = countCalls(hasher, 'verifyDummy');
      const wrong = await request(t.server)
        .post('/token')
        .type('form')
        .send({ username: 'bob', password: 'not-builder' })
        .expect(401)
        .expect('WWW-Authenticate', 'Bearer');
      const unknown = await request(t.server)
        .post('/auth/token')
        .send({ username: 'nobody-here', password: 'whatever' })
        .expect(401)
        .expect('WWW-Authenticate', 'Bearer');
      expect(wrong.body).toEqual({
        statusCode: 401,
        message: 'Incorrect username or password',
      });
      expect(unknown.body).toEqual(wrong.body);
      // The unknown user was checked against the dummy hash, not answered at once.
      expect(dummy.calls()).toBe(1);
      dummy.restore();
      // Succeed once so that bob is not left near the lockout.
      await tokenFor('bob', 'builder');
    });

    it.each([
      ['a huge password', { username: 'bob', password: 'p'.repeat(10_000) }],
      ['an array password', { username: 'bob', password: ['builder', 'x'] }],
      [
        'an object password',
        { username: 'bob', password: { toString: 'builder' } },
      ],
      ['a numeric password', { username: 'bob', password: 12345678 }],
      ['a missing password', { username: 'bob' }],
      ['a missing username', { password: 'builder' }],
      ['an empty username', { username: '', password: 'builder' }],
      [
        'another grant type',
        {
          username: 'bob',
          password: 'builder',
          grant_type: 'client_credentials',
        },
      ],
      [
        'an unknown field',
        { username: 'bob', password: 'builder', role: 'admin' },
      ],
    ])('answers 400 to %s without hashing', async (_case, body) => {
      const hasher = t.app.get(PasswordHasher);
      const verify = countCalls(hasher, 'verify');
      const dummy = countCalls(hasher, 'verifyDummy');
      const response = await request(t.server)
        .post('/auth/token')
        .send(body)
        .expect(400);
      expect(response.body).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
      });
      expect(verify.calls()).toBe(0);
      expect(dummy.calls()).toBe(0);
      verify.restore();
      dummy.restore();
    });

    it('answers 400 to repeated or nested form fields', async () => {
      await request(t.server)
        .post('/token')
        .type('form')
        .send('username=bob&password=builder&password=other')
        .expect(400);
      await request(t.server)
        .post('/token')
        .type('form')
        .send('username[a]=bob&password=builder')
        .expect(400);
    });

    it('answers 400 to a body of another content type', async () => {
      await request(t.server)
        .post('/token')
        .set('Content-Type', 'text/plain')
        .send('username=bob&password=builder')
        .expect(400);
    });

    it('answers 413 to a body over 100 KB, JSON or form', async () => {
      const password = 'p'.repeat(110 * 1024);
      await request(t.server)
        .post('/auth/token')
        .send({ username: 'bob', password })
        .expect(413);
      await request(t.server)
        .post('/token')
        .type('form')
        .send(`username=bob&password=${password}`)
        .expect(413);
    });
  });

  describe('GET /auth/me', () => {
    it('answers {username} for a valid bearer token', async () => {
      const token = await tokenFor('alice', 'wonderland');
      await request(t.server)
        .get('/auth/me')
        .set('Authorization', `Bearer ${token}`)
        .expect(200)
        .expect({ username: 'alice' });
    });

    it('answers 401 with a Bearer challenge without a token', async () => {
      const response = await request(t.server)
        .get('/auth/me')
        .expect(401)
        .expect('WWW-Authenticate', 'Bearer');
      expect(response.body).toEqual({
        statusCode: 401,
        message: 'Missing authentication token',
      });
      await request(t.server)
        .get('/auth/me')
        .set('Authorization', 'Basic YWxpY2U6d29uZGVybGFuZA==')
        .expect(401);
    });

    it.each([
      ['garbage', () => 'not.a.token', 'Invalid authentication token'],
      [
        'alg none',
        () =>
          forgeToken(
            { alg: 'none', typ: 'JWT' },
            { sub: 'alice', iat: nowSeconds(), exp: nowSeconds() + 600 },
          ),
        'Invalid authentication token',
      ],
      [
        'HS512 with the right secret',
        () =>
          forgeToken(
            { alg: 'HS512', typ: 'JWT' },
            { sub: 'alice', iat: nowSeconds(), exp: nowSeconds() + 600 },
          ),
        'Invalid authentication token',
      ],
      [
        'no exp',
        () =>
          forgeToken(
            { alg: 'HS256', typ: 'JWT' },
            { sub: 'alice', iat: nowSeconds() },
          ),
        'Invalid authentication token',
      ],
      [
        'another secret',
        () =>
          forgeToken(
            { alg: 'HS256', typ: 'JWT' },
            { sub: 'alice', iat: nowSeconds(), exp: nowSeconds() + 600 },
            'some-other-secret-0123456789-0123456789',
          ),
        'Invalid authentication token',
      ],
      [
        'an expired token',
        () =>
          forgeToken(
            { alg: 'HS256', typ: 'JWT' },
            {
              sub: 'alice',
              iat: nowSeconds() - 7200,
              exp: nowSeconds() - 3600,
            },
          ),
        'Token expired',
      ],
    ])('answers 401 to %s', async (_case, makeToken, message) => {
      const response = await request(t.server)
        .get('/auth/me')
        .set('Authorization', `Bearer ${makeToken()}`)
        .expect(401)
        .expect('WWW-Authenticate', 'Bearer error="invalid_token"');
      expect(response.body).toEqual({ statusCode: 401, message });
    });

    it('answers 401 "Invalid user" once the user is deleted', async () => {
      await request(t.server)
        .post('/auth/register')
        .send({ username: 'ephemeral', password: 'ephemeral-pw' })
        .expect(201);
      const token = await tokenFor('ephemeral', 'ephemeral-pw');
      await request(t.server)
        .get('/auth/me')
        .set('Authorization', `Bearer ${token}`)
        .expect(200);
      await expect(t.app.get(UsersService).delete('ephemeral')).resolves.toBe(
        true,
      );
      const response = await request(t.server)
        .get('/auth/me')
        .set('Authorization', `Bearer ${token}`)
        .expect(401);
      expect(response.body).toEqual({
        statusCode: 401,
        message: 'Invalid user',
      });
    });
  });

  describe('demo users', () => {
    it('seeds alice and bob idempotently', async () => {
      await t.app.get(DemoUsersSeeder).onApplicationBootstrap();
      await tokenFor('alice', 'wonderland');
      await tokenFor('bob', 'builder');
    });
  });
});

describe('Auth (e2e): login lockout', () => {
  let t: TestApp;
  let clock: number;

  beforeAll(async () => {
    clock = Date.now();
    t = await createApp({}, new MemoryLoginAttemptStore({ now: () => clock }));
    await request(t.server)
      .post('/auth/register')
      .send({ username: 'mallory', password: 'mallory-password' })
      .expect(201);
  });

  afterAll(async () => {
    await t.app.close();
  });

  function login(
    path: '/token' | '/auth/token',
    username: string,
    password: string,
  ) {
    return request(t.server)
      .post(path)
      .type('form')
      .send({ username, password });
  }

  it('answers 429 with Retry-After after 5 failures on either route, even for the right password, until 15 minutes pass', async () => {
    for (const path of [
      '/token',
      '/auth/token',
      '/token',
      '/auth/token',
      '/token',
    ] as const) {
      await login(path, 'mallory', 'wrong-password').expect(401);
    }
    const locked = await login('/auth/token', 'mallory', 'mallory-password')
      .expect(429)
      .expect('Retry-After', '900');
    expect(locked.body).toMatchObject({ statusCode: 429 });
    await login('/token', 'mallory', 'mallory-password').expect(429);

    clock += 5 * 60 * 1000;
    await login('/token', 'mallory', 'mallory-password')
      .expect(429)
      .expect('Retry-After', '600');

    clock += 10 * 60 * 1000;
    await login('/token', 'mallory', 'mallory-password').expect(200);
  });

  it('resets the count on a success', async () => {
    clock += FIFTEEN_MINUTES;
    for (let i = 0; i < 4; i += 1) {
      await login('/token', 'mallory', 'wrong-password').expect(401);
    }
    await login('/auth/token', 'mallory', 'mallory-password').expect(200);
    for (let i = 0; i < 5; i += 1) {
      await login('/token', 'mallory', 'wrong-password').expect(401);
    }
    await login('/token', 'mallory', 'wrong-password').expect(429);
  });

  it('locks out unknown usernames the same way', async () => {
    for (let i = 0; i < 5; i += 1) {
      await login('/token', 'ghost', 'whatever').expect(401);
    }
    await login('/token', 'ghost', 'whatever')
      .expect(429)
      .expect('Retry-After', '900');
  });

  it('counts each username separately', async () => {
    await login('/token', 'bob', 'builder').expect(200);
  });

  it('does not let parallel guesses past the limit', async () => {
    clock += FIFTEEN_MINUTES;
    const statuses = await Promise.all(
      Array.from({ length: 8 }, () =>
        login('/token', 'alice', 'wrong-password'),
      ),
    );
    expect(statuses.map((r) => r.status).sort((a, b) => a - b)).toEqual([
      401, 401, 401, 401, 401, 429, 429, 429,
    ]);
  });
});

describe('Auth (e2e): DEMO_USERS=false', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createApp({ DEMO_USERS: 'false' });
  });

  afterAll(async () => {
    await t.app.close();
  });

  it('does not seed the demo users', async () => {
    await expect(t.app.get(UsersService).exists('alice')).resolves.toBe(false);
    await request(t.server)
      .post('/token')
      .type('form')
      .send({ username: 'alice', password: 'wonderland' })
      .expect(401);
  });
});
