import { getRepositoryToken } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { UserEntity } from '../../src/database/entities/user.entity.js';
import {
  startChatAppWith,
  type SecurityChatApp,
} from '../support/chat-app-with.js';
import type { Frame, WsTestClient } from '../support/ws-test-client.js';

const MAX_MESSAGE_BYTES = 256 * 1024;

/** `[[[ ... ]]]`, `depth` arrays deep. */
const nested = (depth: number, inner = ''): string =>
  `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

/** The reply to a raw frame carrying `"id": <id>`. */
function replyTo(
  client: WsTestClient,
  id: string | number,
  timeoutMs = 3000,
): Promise<Frame> {
  return client.waitFor((frame) => frame.id === id, `reply #${id}`, timeoutMs);
}

async function expectOpen(client: WsTestClient): Promise<void> {
  expect((await client.request('ping', {})).event).toBe('ping');
}

/**
 * Hostile message input against the real AppModule: prototype pollution, absurd nesting,
 * injection-looking and bidirectional text, lone surrogates, oversized ids. Every case gets the
 * PROTOCOL.md outcome, logs no error and leaves the connection (and the other members) served.
 */
describe('Security: message input (e2e)', () => {
  let chat: SecurityChatApp;
  let mallory: WsTestClient;
  let bystander: WsTestClient;

  beforeAll(async () => {
    chat = await startChatAppWith({
      // Large enough for a 100,000-deep array (200 KB), so that depth, not size, is what is tested.
      env: { WS_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) },
    });
    const tokens = await chat.createUsers(['mallory', 'bystander']);
    mallory = await chat.connect(tokens.get('mallory') ?? '', '/ws/input');
    bystander = await chat.connect(tokens.get('bystander') ?? '', '/ws/input');
    await mallory.next('join');
    await bystander.next('join');
    await mallory.waitFor(
      (f) => f.event === 'presence' && f.data.user === 'bystander',
      'bystander joins',
    );
  });

  afterEach(async () => {
    // Whatever a case sent, no error was logged and everyone is still served.
    expect(chat.logger.errors.splice(0)).toEqual([]);
    await expectOpen(mallory);
    await expectOpen(bystander);
    mallory.frames.length = 0;
    bystander.frames.length = 0;
  });

  afterAll(async () => {
    await chat.close();
  });

  describe('malformed envelopes', () => {
    const long = 'e'.repeat(10 * 1024);
    it.each([
      ['not JSON', '{"event": "ping", ', 'BAD_REQUEST', undefined, undefined],
      ['plain text', 'hello', 'BAD_REQUEST', undefined, undefined],
      ['an empty frame', '', 'BAD_REQUEST', undefined, undefined],
      [
        'a JSON array',
        '[{"event": "ping"}]',
        'BAD_REQUEST',
        undefined,
        undefined,
      ],
      ['a JSON string', '"ping"', 'BAD_REQUEST', undefined, undefined],
      ['a JSON number', '42', 'BAD_REQUEST', undefined, undefined],
      ['JSON null', 'null', 'BAD_REQUEST', undefined, undefined],
      ['JSON true', 'true', 'BAD_REQUEST', undefined, undefined],
      ['a missing event', '{"data": {}, "id": 7}', 'BAD_REQUEST', 7, undefined],
      [
        'a numeric event',
        '{"event": 5, "id": "n"}',
        'BAD_REQUEST',
        'n',
        undefined,
      ],
      [
        'a null event',
        '{"event": null, "id": "n"}',
        'BAD_REQUEST',
        'n',
        undefined,
      ],
      [
        'an array event',
        '{"event": ["ping"], "id": "a"}',
        'BAD_REQUEST',
        'a',
        undefined,
      ],
      [
        'an object event with a toString',
        '{"event": {"toString": "ping"}, "id": "o"}',
        'BAD_REQUEST',
        'o',
        undefined,
      ],
      ['an empty event', '{"event": "", "id": 1}', 'BAD_REQUEST', 1, ''],
      [
        'a 10 KB event (echoed cut to 128 characters)',
        JSON.stringify({ event: long, id: 'long' }),
        'UNKNOWN_EVENT',
        'long',
        long.slice(0, 128),
      ],
      [
        'the event "__proto__"',
        '{"event": "__proto__", "id": "p"}',
        'UNKNOWN_EVENT',
        'p',
        '__proto__',
      ],
      [
        'the event "constructor"',
        '{"event": "constructor", "id": "c"}',
        'UNKNOWN_EVENT',
        'c',
        'constructor',
      ],
      [
        'the event "exception"',
        '{"event": "exception", "id": "x"}',
        'UNKNOWN_EVENT',
        'x',
        'exception',
      ],
      [
        'an unknown event',
        '{"event": "nope", "data": {}, "id": "u"}',
        'UNKNOWN_EVENT',
        'u',
        'nope',
      ],
      [
        'an object id',
        '{"event": "ping", "id": {"a": 1}}',
        'BAD_REQUEST',
        undefined,
        'ping',
      ],
      [
        'an array id',
        '{"event": "ping", "id": [1]}',
        'BAD_REQUEST',
        undefined,
        'ping',
      ],
      [
        'a boolean id',
        '{"event": "ping", "id": true}',
        'BAD_REQUEST',
        undefined,
        'ping',
      ],
      [
        'a null id',
        '{"event": "ping", "id": null}',
        'BAD_REQUEST',
        undefined,
        'ping',
      ],
      [
        'a 65-character id',
        JSON.stringify({ event: 'ping', id: 'i'.repeat(65) }),
        'BAD_REQUEST',
        undefined,
        'ping',
      ],
      [
        'a 10 KB id',
        JSON.stringify({ event: 'ping', id: 'i'.repeat(10 * 1024) }),
        'BAD_REQUEST',
        undefined,
        'ping',
      ],
    ])(
      'answers %s with the PROTOCOL.md code, echoing only a safe id and event',
      async (_case, raw, code, id, event) => {
        mallory.sendRaw(raw);
        const reply = await mallory.next('exception');
        const data: Record<string, unknown> = {
          status: 'error',
          code,
          message: expect.any(String),
        };
        if (event !== undefined) {
          data.event = event;
        }
        expect(reply).toEqual(
          id === undefined
            ? { event: 'exception', data }
            : { event: 'exception', id, data },
        );
        expect(JSON.stringify(reply).length).toBeLessThan(1024);
        // Exactly one reply.
        expect((await mallory.request('ping', {})).event).toBe('ping');
        expect(mallory.frames.filter((f) => f.event === 'exception')).toEqual(
          [],
        );
      },
    );

    it('answers a 64-character id and a numeric id, echoing them', async () => {
      const id = 'i'.repeat(64);
      mallory.sendRaw(JSON.stringify({ event: 'ping', id }));
      expect((await mallory.next('ping')).id).toBe(id);
      mallory.sendRaw('{"event": "ping", "id": -1.5e300}');
      expect((await mallory.next('ping')).id).toBe(-1.5e300);
    });
  });

  describe('prototype pollution', () => {
    afterEach(() => {
      const probe: Record<string, unknown> = {};
      for (const key of ['polluted', 'isAdmin', 'room', 'text']) {
        expect(probe[key]).toBeUndefined();
        expect(Object.prototype).not.toHaveProperty(key);
      }
    });

    it('ignores __proto__ and constructor.prototype in the envelope', async () => {
      mallory.sendRaw(
        '{"__proto__": {"polluted": "yes"}, "event": "ping", "id": "p1"}',
      );
      mallory.sendRaw(
        '{"constructor": {"prototype": {"polluted": "yes"}}, "event": "ping", "id": "p2"}',
      );
      expect((await replyTo(mallory, 'p1')).event).toBe('ping');
      expect((await replyTo(mallory, 'p2')).event).toBe('ping');
    });

    it('does not let an inherited property satisfy validation', async () => {
      mallory.sendRaw(
        '{"event": "message", "data": {"__proto__": {"room": "input", "text": "sneaky"}}, "id": "p3"}',
      );
      const reply = await replyTo(mallory, 'p3');
      expect(reply.event).toBe('exception');
      expect(reply.data).toMatchObject({
        code: 'VALIDATION_FAILED',
        errors: expect.arrayContaining([
          expect.objectContaining({ field: 'room' }),
          expect.objectContaining({ field: 'text' }),
        ]),
      });
      expect(
        bystander.frames.filter((frame) => frame.event === 'message'),
      ).toEqual([]);
    });

    it('strips __proto__ and constructor from data before storing and delivering', async () => {
      mallory.sendRaw(
        JSON.stringify({
          event: 'message',
          id: 'p4',
          data: { room: 'input', text: 'clean', isAdmin: true },
        }).replace(
          '"isAdmin":true',
          '"__proto__":{"isAdmin":true},"constructor":{"prototype":{"polluted":"yes"}}',
        ),
      );
      const reply = await replyTo(mallory, 'p4');
      expect(reply.event).toBe('message');
      const delivered = await bystander.next('message');
      expect(Object.keys(delivered.data).sort()).toEqual([
        'from',
        'id',
        'room',
        'text',
        'ts',
      ]);
      const history = await mallory.request('history', {
        room: 'input',
        after: String(Number(reply.data.id) - 1),
      });
      expect(history.data.messages).toEqual([delivered.data]);
    });

    it('keeps status and presence untouched by a polluting status frame', async () => {
      mallory.sendRaw(
        '{"event": "status", "data": {"status": "away", "__proto__": {"status": "offline", "isAdmin": true}}, "id": "p5"}',
      );
      expect((await replyTo(mallory, 'p5')).data).toEqual({ status: 'away' });
      const members = await bystander.request('members', { room: 'input' });
      expect(members.data.members).toEqual(
        expect.arrayContaining([{ user: 'mallory', status: 'away' }]),
      );
      await mallory.request('status', { status: 'online' });
    });
  });

  describe('absurd nesting under the size limit', () => {
    const deep = nested(100_000);

    it.each([
      ['message text', 'message', `{"room": "input", "text": ${deep}}`],
      ['join data', 'join', deep],
      ['rooms data (any field is dropped)', 'rooms', `{"x": ${deep}}`],
      ['refresh token', 'refresh', `{"token": ${deep}}`],
      ['history cursor', 'history', `{"room": "input", "after": ${deep}}`],
    ])(
      'answers VALIDATION_FAILED to a 100,000-deep array as %s, fast and without an error log',
      async (_case, event, data) => {
        const frame = `{"event": "${event}", "id": "deep", "data": ${data}}`;
        expect(Buffer.byteLength(frame)).toBeLessThan(MAX_MESSAGE_BYTES);
        const started = performance.now();
        mallory.sendRaw(frame);
        const reply = await replyTo(mallory, 'deep');
        expect(performance.now() - started).toBeLessThan(1000);
        expect(reply).toEqual({
          event: 'exception',
          id: 'deep',
          data: {
            status: 'error',
            code: 'VALIDATION_FAILED',
            message: 'Validation failed',
            event,
            errors: [
              {
                field: 'data',
                message: 'data must not be nested more than 32 levels deep',
              },
            ],
          },
        });
      },
    );

    it('answers UNKNOWN_EVENT for an unknown event and BAD_REQUEST for a deep id or event, echoing neither', async () => {
      mallory.sendRaw(
        `{"event": "nope", "id": "deep-unknown", "data": ${deep}}`,
      );
      expect((await replyTo(mallory, 'deep-unknown')).data).toMatchObject({
        code: 'UNKNOWN_EVENT',
        event: 'nope',
      });
      mallory.sendRaw(`{"event": "ping", "id": ${deep}}`);
      mallory.sendRaw(`{"event": ${deep}, "id": "deep-event"}`);
      const badId = await mallory.next('exception');
      expect(badId).toEqual({
        event: 'exception',
        data: expect.objectContaining({ code: 'BAD_REQUEST', event: 'ping' }),
      });
      const badEvent = await replyTo(mallory, 'deep-event');
      expect(badEvent.data).toMatchObject({ code: 'BAD_REQUEST' });
      expect(badEvent.data).not.toHaveProperty('event');
    });

    it('still handles data nested exactly 32 levels deep', async () => {
      const reply = await mallory.request('rooms', {
        x: JSON.parse(nested(31)) as unknown,
      });
      expect(reply.event).toBe('rooms');
      mallory.sendRaw(
        `{"event": "rooms", "id": "d33", "data": {"x": ${nested(32)}}}`,
      );
      expect((await replyTo(mallory, 'd33')).data).toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    });
  });

  describe('text is stored and returned byte for byte', () => {
    const hostile = [
      "'; DROP TABLE messages; --",
      '" OR 1=1 --',
      "Robert'); DELETE FROM \"user\" WHERE ('1'='1",
      '<script>alert(document.cookie)</script>',
      '<img src=x onerror=alert(1)>',
      "{{constructor.constructor('return process')()}}",
      '${process.exit(1)}',
      '%s%s%s%n%x',
      '{"event":"message","data":{"room":"input"}}',
      '__proto__',
      '\\u0000 \\" \\n (escape sequences as plain text)',
      'line one\nline two\r\n\ttabbed',
      '  leading and trailing white space  ',
      '\u202Egnp.exe',
      '\u200F\u200Eright-to-left and left-to-right marks\u200F',
      '\u2066isolate\u2069 \u2067rtl\u2069 \u2068first\u2069',
      'zero\u200Bwidth\u200Dspace\u2060joiner\uFEFF',
      'e\u0301 vs \u00e9 (not normalised)',
      '👩‍👩‍👧‍👦 𝕳𝖊𝖑𝖑𝖔 \u{10FFFF}',
      'שלום مرحبا 你好',
    ];

    it('delivers and stores hostile room messages exactly as sent', async () => {
      const first = await mallory.request('message', {
        room: 'input',
        text: 'before',
      });
      for (const text of hostile) {
        const reply = await mallory.request('message', { room: 'input', text });
        expect(reply.event).toBe('message');
      }
      const live: string[] = [];
      for (let i = 0; i <= hostile.length; i++) {
        live.push(String((await bystander.next('message')).data.text));
      }
      expect(live.slice(1)).toEqual(hostile);
      const history = await bystander.request('history', {
        room: 'input',
        after: first.data.id,
      });
      const stored = (history.data.messages as { text: string }[]).map(
        (message) => message.text,
      );
      expect(stored).toEqual(hostile);
      for (let i = 0; i < hostile.length; i++) {
        expect(Buffer.from(stored[i], 'utf8')).toEqual(
          Buffer.from(hostile[i], 'utf8'),
        );
      }
    });

    it('delivers and stores hostile private messages exactly as sent', async () => {
      const texts = hostile.slice(0, 5);
      for (const text of texts) {
        expect(
          (await mallory.request('private', { to: 'bystander', text })).event,
        ).toBe('private');
        expect((await bystander.next('private')).data.text).toBe(text);
      }
      const history = await bystander.request('history', {
        with: 'mallory',
        limit: texts.length,
      });
      expect(
        (history.data.messages as { text: string }[]).map((m) => m.text),
      ).toEqual(texts);
    });
  });

  describe('text the database cannot store as sent', () => {
    it.each([
      ['a lone high surrogate', 'broken \ud800 pair'],
      ['a lone low surrogate', 'x\udc00y'],
      ['a reversed pair', '\udc00\ud800'],
      ['a NUL character', 'null\u0000byte'],
    ])(
      'refuses %s with VALIDATION_FAILED, delivering and storing nothing',
      async (_case, text) => {
        const before = await mallory.request('message', {
          room: 'input',
          text: 'before',
        });
        expect((await bystander.next('message')).data.id).toBe(before.data.id);
        const reply = await mallory.request('message', {
          room: 'input',
          text,
        });
        expect(reply.data).toMatchObject({
          code: 'VALIDATION_FAILED',
          errors: [
            {
              field: 'text',
              message:
                'text must be a string of 1-2000 characters after trimming, without NUL or unpaired surrogates',
            },
          ],
        });
        const privately = await mallory.request('private', {
          to: 'bystander',
          text,
        });
        expect(privately.data).toMatchObject({ code: 'VALIDATION_FAILED' });
        const sent = await mallory.request('message', {
          room: 'input',
          text: 'after',
        });
        // Live: the next message anyone sees is the one after the refusal.
        expect((await bystander.next('message')).data.id).toBe(sent.data.id);
        expect(bystander.frames.filter((f) => f.event === 'private')).toEqual(
          [],
        );
        // History: nothing between the two, in the room or the conversation.
        const room = await bystander.request('history', {
          room: 'input',
          after: before.data.id,
        });
        expect(
          (room.data.messages as { id: string }[]).map((m) => m.id),
        ).toEqual([sent.data.id]);
        const conversation = await bystander.request('history', {
          with: 'mallory',
          after: before.data.id,
        });
        expect(conversation.data.messages).toEqual([]);
      },
    );

    it('answers NOT_FOUND, without a query, to a recipient or conversation that is no valid username', async () => {
      // PostgreSQL fails on a NUL byte in a query parameter (INTERNAL); SQLite does not, so the
      // spec checks that such a name never reaches the database.
      const users = chat.app.get<Repository<UserEntity>>(
        getRepositoryToken(UserEntity),
      );
      const queried: string[] = [];
      const existsBy = users.existsBy.bind(users);
      users.existsBy = (where) => {
        queried.push(JSON.stringify(where));
        return existsBy(where);
      };
      try {
        for (const to of ['nul\u0000user', '\ud800', 'x'.repeat(64)]) {
          expect(
            (await mallory.request('private', { to, text: 'hi' })).data,
          ).toMatchObject({ code: 'NOT_FOUND' });
          expect(
            (await mallory.request('history', { with: to })).data,
          ).toMatchObject({ code: 'NOT_FOUND' });
        }
        expect(queried).toEqual([]);
        expect(
          (await mallory.request('private', { to: 'nobody', text: 'hi' })).data,
        ).toMatchObject({ code: 'NOT_FOUND' });
        expect(queried).toEqual(['{"username":"nobody"}']);
      } finally {
        Reflect.deleteProperty(users, 'existsBy');
      }
    });

    it('echoes an id holding a lone surrogate exactly', async () => {
      mallory.sendRaw('{"event": "ping", "id": "\\ud800"}');
      expect((await mallory.next('ping')).id).toBe('\ud800');
    });
  });

  describe('oversized, odd and null fields', () => {
    it('answers BAD_REQUEST to a 10 KB id, echoing the event but never the id', async () => {
      const id = 'i'.repeat(10 * 1024);
      mallory.sendRaw(JSON.stringify({ event: 'ping', id }));
      const reply = await mallory.next('exception');
      expect(reply).toEqual({
        event: 'exception',
        data: {
          status: 'error',
          code: 'BAD_REQUEST',
          message: '"id" must be a string of at most 64 characters or a number',
          event: 'ping',
        },
      });
    });

    it('answers BAD_REQUEST to a numeric id that overflows to Infinity', async () => {
      mallory.sendRaw(`{"event": "ping", "id": 1${'0'.repeat(400)}}`);
      expect((await mallory.next('exception')).data).toMatchObject({
        code: 'BAD_REQUEST',
      });
    });

    it('treats null optional history fields as absent, never as a query value', async () => {
      const stored = await mallory.request('message', {
        room: 'input',
        text: 'null cursors',
      });
      const page = await mallory.request('history', {
        room: 'input',
        after: null,
        before: null,
        limit: null,
      });
      expect((page.data.messages as { id: string }[]).at(-1)?.id).toBe(
        stored.data.id,
      );
      for (const data of [{ with: null }, { room: null }, {}]) {
        expect((await mallory.request('history', data)).data).toMatchObject({
          code: 'VALIDATION_FAILED',
          errors: [
            expect.objectContaining({
              message: 'give exactly one of room or with',
            }),
          ],
        });
      }
      const conversation = await mallory.request('history', {
        with: 'bystander',
        after: null,
      });
      expect(conversation.event).toBe('history');
    });

    it.each(['toString', 'hasOwnProperty', 'valueOf', '__proto__', 'welcome'])(
      'answers UNKNOWN_EVENT to the event %j',
      async (event) => {
        expect((await mallory.request(event, {})).data).toMatchObject({
          code: 'UNKNOWN_EVENT',
          event,
        });
      },
    );
  });
});
