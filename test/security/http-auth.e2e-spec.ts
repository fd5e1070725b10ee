import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { PasswordHasher } from '../../src/auth/password.hasher.js';
import {
  startChatAppWith,
  type SecurityChatApp,
} from '../support/chat-app-with.js';
import { within } from '../support/security.js';
import { WsTestClient } from '../support/ws-test-client.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  ms: number;
}

/** Headers that differ on every response by design. */
const PER_RESPONSE = new Set(['date', 'x-request-id', 'x-process-time']);

/**
 * Counts calls of the hasher's methods (jest.spyOn needs @jest/globals under ESM).
 */
function countHashing(hasher: PasswordHasher): {
  calls: () => number;
  restore: () => void;
} {
  let calls = 0;
  const methods = ['hash', 'verify', 'verifyDummy'] as const;
  for (const method of methods) {
    const original = hasher[method].bind(hasher) as (
      ...args: unknown[]
    ) => Promise<unknown>;
    Object.defineProperty(hasher, method, {
      configurable: true,
      value: (...args: unknown[]) => {
        calls += 1;
        return original(...args);
      },
    });
  }
  return {
    calls: () => calls,
    restore: () => {
      for (const method of methods) {
        Reflect.deleteProperty(hasher, method);
      }
    },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * The login endpoint under attack, against the real AppModule: it does not tell which usernames
 * exist, its lockout is keyed by (username, client IP) so a victim is not locked out from
 * elsewhere (and X-Forwarded-For does not reset it), and hostile bodies are refused at once,
 * without hashing.
 */
describe('Security: HTTP auth (e2e)', () => {
  let chat: SecurityChatApp;
  let hasher: PasswordHasher;

  /** POST from a chosen loopback address (any 127.x.y.z reaches the server on Linux). */
  const post = (
    path: string,
    body: string,
    options: {
      ip?: string;
      type?: string;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Answer> => {
    const started = performance.now();
    return within(
      new Promise<Answer>((resolve, reject) => {
        const request = httpRequest(
          {
            host: '127.0.0.1',
            port: chat.port,
            method: 'POST',
            path,
            localAddress: options.ip ?? '127.0.0.1',
            headers: {
              'Content-Type':
                options.type ?? 'application/x-www-form-urlencoded',
              'Content-Length': Buffer.byteLength(body),
              ...options.headers,
            },
          },
          (response) => {
            let text = '';
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => (text += chunk));
            response.on('end', () =>
              resolve({
                status: response.statusCode ?? 0,
                headers: response.headers,
                body: text,
                ms: performance.now() - started,
              }),
            );
          },
        );
        request.on('error', reject);
        request.end(body);
      }),
      10_000,
      `POST ${path}`,
    );
  };
  const login = (
    username: string,
    password: string,
    ip?: string,
    headers?: Record<string, string>,
  ): Promise<Answer> =>
    post('/token', new URLSearchParams({ username, password }).toString(), {
      ip,
      headers,
    });

  beforeAll(async () => {
    chat = await startChatAppWith();
    hasher = chat.app.get(PasswordHasher);
  });

  afterAll(async () => {
    await chat.close();
  });

  afterEach(() => {
    expect(chat.logger.errors.splice(0)).toEqual([]);
  });

  describe('no user enumeration', () => {
    it('answers an unknown user and a wrong password with the same status, body and headers', async () => {
      const wrong = await login('alice', 'not-wonderland', '127.0.1.1');
      const unknown = await login(
        'no-such-user',
        'not-wonderland',
        '127.0.1.2',
      );
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(wrong.status);
      expect(unknown.body).toBe(wrong.body);
      expect(JSON.parse(wrong.body)).toEqual({
        statusCode: 401,
        message: 'Incorrect username or password',
      });
      const comparable = (headers: IncomingHttpHeaders) =>
        Object.fromEntries(
          Object.entries(headers).filter(([name]) => !PER_RESPONSE.has(name)),
        );
      expect(comparable(unknown.headers)).toEqual(comparable(wrong.headers));
      expect(wrong.headers['www-authenticate']).toBe('Bearer');
    });

    it('takes as long for an unknown user as for a wrong password, within 20 %', async () => {
      const PAIRS = 10;
      const wrong: number[] = [];
      const unknown: number[] = [];
      const differences: number[] = [];
      // Both attempts of a pair at once (the hasher runs two at a time), so that they share the
      // load of a busy machine; each from its own address, so the lockout never counts.
      for (let i = 0; i < PAIRS; i++) {
        const [w, u] = await Promise.all([
          login('bob', 'not-builder', `127.0.2.${i + 1}`),
          login(`ghost${i}`, 'not-builder', `127.0.3.${i + 1}`),
        ]);
        expect([w.status, u.status]).toEqual([401, 401]);
        wrong.push(w.ms);
        unknown.push(u.ms);
        differences.push(u.ms - w.ms);
      }
      const typical = median([...wrong, ...unknown]);
      // Both paths run one scrypt of the same cost (an answer without hashing would take a tenth
      // of the time): neither side is systematically faster, and the medians agree within 20 %.
      expect(Math.abs(median(differences))).toBeLessThan(0.2 * typical);
      const [a, b] = [median(wrong), median(unknown)];
      expect(Math.min(a, b) / Math.max(a, b)).toBeGreaterThan(0.8);
    });
  });

  describe('lockout keyed by (username, client IP)', () => {
    it('locks the attacker out of one username without locking the victim out elsewhere', async () => {
      const attacker = '127.0.4.1';
      for (let i = 0; i < 5; i++) {
        expect((await login('alice', `guess-${i}`, attacker)).status).toBe(401);
      }
      const locked = await login('alice', 'wonderland', attacker);
      expect(locked.status).toBe(429);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
      // The real alice, elsewhere, is not locked out.
      expect((await login('alice', 'wonderland', '127.0.4.2')).status).toBe(
        200,
      );
      // The attacker's address is not banned for other usernames either.
      expect((await login('bob', 'builder', attacker)).status).toBe(200);
    });

    it('does not let X-Forwarded-For reset the count (the proxy is not trusted)', async () => {
      const attacker = '127.0.5.1';
      for (let i = 0; i < 5; i++) {
        const answer = await login('bob', `guess-${i}`, attacker, {
          'X-Forwarded-For': `203.0.113.${i + 1}`,
        });
        expect(answer.status).toBe(401);
      }
      const locked = await login('bob', 'builder', attacker, {
        'X-Forwarded-For': '203.0.113.99',
      });
      expect(locked.status).toBe(429);
    });
  });

  describe('a burst of logins', () => {
    it('answers 20 concurrent logins while the WebSocket echo p99 stays under 100 ms', async () => {
      const [token] = [...(await chat.createUsers(['echo'])).values()];
      const client = new WsTestClient(`${chat.url()}?token=${token}`);
      await client.next('welcome');
      try {
        // Warm: the first round trips pay for lazy initialisation, not for the logins.
        for (let i = 0; i < 20; i++) {
          await client.request('ping', {});
        }
        let settled = 0;
        let maxRunning = 0;
        let maxQueued = 0;
        const logins = Array.from({ length: 20 }, (_, i) => {
          const [username, password] =
            i % 4 === 0
              ? ['alice', 'wonderland']
              : i % 4 === 1
                ? ['bob', 'builder']
                : i % 4 === 2
                  ? ['alice', `wrong-${i}`]
                  : [`nobody${i}`, 'whatever1'];
          return login(username, password, `127.0.7.${i + 1}`).then(
            (answer) => {
              settled++;
              return {
                answer,
                ok: password !== `wrong-${i}` && !username.startsWith('nobody'),
              };
            },
          );
        });
        const rtts: number[] = [];
        while (settled < logins.length) {
          const started = performance.now();
          await client.request('ping', {});
          rtts.push(performance.now() - started);
          maxRunning = Math.max(maxRunning, hasher.running);
          maxQueued = Math.max(maxQueued, hasher.queued);
        }
        for (const { answer, ok } of await Promise.all(logins)) {
          expect(answer.status).toBe(ok ? 200 : 401);
        }
        // The hashes really overlapped the echoes, queued behind the hasher's two slots.
        expect(maxQueued).toBeGreaterThan(0);
        expect(maxRunning).toBeLessThanOrEqual(2);
        expect(rtts.length).toBeGreaterThanOrEqual(100);
        const sorted = [...rtts].sort((x, y) => x - y);
        const p99 = sorted[Math.floor(sorted.length * 0.99)];
        expect(p99).toBeLessThan(100);
      } finally {
        client.socket.terminate();
      }
    }, 60_000);
  });

  describe('hostile bodies are refused at once, without hashing', () => {
    const deep = `${'['.repeat(45_000)}${']'.repeat(45_000)}`;
    const json = 'application/json';

    it.each([
      [
        'a 45,000-deep JSON array as username',
        '/token',
        `{"username": ${deep}, "password": "x"}`,
        json,
        400,
      ],
      [
        'a 45,000-deep JSON array as password',
        '/auth/register',
        `{"username": "deepuser", "password": ${deep}}`,
        json,
        400,
      ],
      ['a 45,000-deep JSON body', '/auth/token', deep, json, 400],
      [
        '__proto__ credentials',
        '/token',
        '{"__proto__": {"username": "alice", "password": "wonderland"}}',
        json,
        400,
      ],
      [
        'constructor.prototype credentials',
        '/token',
        '{"constructor": {"prototype": {"username": "alice"}}, "password": "wonderland"}',
        json,
        400,
      ],
      [
        'a __proto__ form field',
        '/token',
        '__proto__[username]=alice&password=wonderland',
        undefined,
        400,
      ],
      [
        'a nested form field',
        '/token',
        `username${'[a]'.repeat(50)}=alice&password=wonderland`,
        undefined,
        400,
      ],
      [
        '5,000 form fields',
        '/token',
        Array.from({ length: 5000 }, (_, i) => `f${i}=1`).join('&'),
        undefined,
        413,
      ],
      [
        'a 10,000-character password',
        '/auth/token',
        JSON.stringify({ username: 'alice', password: 'p'.repeat(10_000) }),
        json,
        400,
      ],
      ['a JSON string body', '/auth/token', '"alice"', json, 400],
      [
        'a truncated JSON body',
        '/auth/token',
        '{"username": "alice", "password": "wonder',
        json,
        400,
      ],
    ])('%s', async (_case, path, body, type, status) => {
      const hashing = countHashing(hasher);
      try {
        const answer = await post(path, body, { type, ip: '127.0.6.1' });
        expect(answer.status).toBe(status);
        expect(answer.ms).toBeLessThan(300);
        expect(hashing.calls()).toBe(0);
        expect(JSON.parse(answer.body)).toMatchObject({ statusCode: status });
      } finally {
        hashing.restore();
      }
      const probe: Record<string, unknown> = {};
      expect(probe.username).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('username');
    });

    it('names the nesting limit in the validation message', async () => {
      const answer = await post('/token', `{"username": ${deep}}`, {
        type: json,
        ip: '127.0.6.2',
      });
      expect(JSON.parse(answer.body)).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: ['request body must not be nested more than 32 levels deep'],
      });
    });

    it('treats a username no one can register (NUL, lone surrogate) like any unknown user', async () => {
      for (const username of ['nul\u0000name', 'lone\ud800']) {
        const answer = await post(
          '/auth/token',
          JSON.stringify({ username, password: 'whatever1' }),
          { type: json, ip: '127.0.6.3' },
        );
        expect(answer.status).toBe(401);
      }
    });
  });
});
