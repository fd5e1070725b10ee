import { WsConnectionRegistry } from '@app/ws-middleware';
import {
  startChatAppWith,
  type SecurityChatApp,
} from '../support/chat-app-with.js';
import {
  encodeFrame,
  Opcode,
  RawWsClient,
  type RawFrameOptions,
} from '../support/raw-ws.js';
import { eventually, heapUsedAfterGc } from '../support/security.js';
import type { WsTestClient } from '../support/ws-test-client.js';

const MAX_MESSAGE_BYTES = 65_536;

/**
 * Frame-level faults written byte by byte over `node:net` (as `ws` tests itself) against the real
 * AppModule: each gets the RFC 6455 / PROTOCOL.md close code, the socket is released, and the
 * server keeps serving everyone else.
 */
describe('Security: raw WebSocket frames (e2e)', () => {
  let chat: SecurityChatApp;
  let registry: WsConnectionRegistry;
  let attackerToken: string;
  let bystander: WsTestClient;
  let bystanderToken: string;
  const raws: RawWsClient[] = [];

  /** A raw connection of the attacker, accepted (welcome received). */
  const attacker = async (): Promise<RawWsClient> => {
    const raw = await RawWsClient.open(chat.port, `/ws?token=${attackerToken}`);
    raws.push(raw);
    expect(raw.response.status).toBe(101);
    await raw.next('welcome');
    return raw;
  };

  /** Sends `frames` and resolves with the close code the server sent, once TCP has closed. */
  const closeCodeAfter = async (
    ...frames: (RawFrameOptions | Buffer)[]
  ): Promise<number | undefined> => {
    const raw = await attacker();
    for (const frame of frames) {
      raw.write(Buffer.isBuffer(frame) ? frame : encodeFrame(frame));
    }
    return (await raw.waitClosed()).code;
  };

  beforeAll(async () => {
    chat = await startChatAppWith({
      env: {
        WS_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
        WS_MAX_CONNECTIONS_PER_USER: '100',
      },
    });
    registry = chat.app.get(WsConnectionRegistry);
    const tokens = await chat.createUsers(['attacker', 'bystander']);
    attackerToken = tokens.get('attacker') ?? '';
    bystanderToken = tokens.get('bystander') ?? '';
    bystander = await chat.connect(bystanderToken, '/ws/frames');
  });

  afterEach(async () => {
    for (const raw of raws.splice(0)) {
      raw.socket.destroy();
    }
    // The faulty connection is gone, nothing was logged, and the server still serves others.
    await eventually(
      () => registry.size === 1,
      'the attacker connections to be released',
      3000,
      () => registry.size,
    );
    expect(chat.logger.errors.splice(0)).toEqual([]);
    expect(
      (
        await bystander.request('message', {
          room: 'frames',
          text: 'still here',
        })
      ).event,
    ).toBe('message');
    expect((await bystander.next('message')).data.text).toBe('still here');
    bystander.frames.length = 0;
  });

  afterAll(async () => {
    // After every fault above, a new client is still accepted and served.
    const fresh = await chat.connect(bystanderToken, '/ws/frames');
    expect((await fresh.request('ping', {})).event).toBe('ping');
    await chat.close();
  });

  describe('invalid UTF-8 closes 1007', () => {
    it.each([
      ['a 0xFF byte', [0x7b, 0xff, 0x7d]],
      ['an overlong encoding of "/"', [0xc0, 0xaf]],
      ['a CESU-8 surrogate', [0xed, 0xa0, 0x80]],
      ['a truncated sequence', [0x61, 0xe2, 0x82]],
      ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ])('in a text frame: %s', async (_case, bytes) => {
      expect(
        await closeCodeAfter({
          opcode: Opcode.TEXT,
          payload: Buffer.from(bytes),
        }),
      ).toBe(1007);
    });

    it('split across fragments', async () => {
      expect(
        await closeCodeAfter(
          { opcode: Opcode.TEXT, fin: false, payload: Buffer.from([0xe2]) },
          { opcode: Opcode.CONTINUATION, payload: Buffer.from([0x28, 0xa1]) },
        ),
      ).toBe(1007);
    });

    it('in a close frame reason', async () => {
      expect(
        await closeCodeAfter({
          opcode: Opcode.CLOSE,
          payload: Buffer.from([0x03, 0xe8, 0xff, 0xfe]),
        }),
      ).toBe(1007);
    });
  });

  describe('protocol violations close 1002', () => {
    it('an unmasked client frame', async () => {
      expect(
        await closeCodeAfter({
          opcode: Opcode.TEXT,
          mask: false,
          payload: '{"event":"ping"}',
        }),
      ).toBe(1002);
    });

    it.each(['rsv1', 'rsv2', 'rsv3'] as const)(
      'the %s bit without a negotiated extension',
      async (bit) => {
        expect(
          await closeCodeAfter({
            opcode: Opcode.TEXT,
            payload: '{"event":"ping"}',
            [bit]: true,
          }),
        ).toBe(1002);
      },
    );

    it.each(
      [0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf].map(
        (opcode) => [`0x${opcode.toString(16)}`, opcode] as const,
      ),
    )('reserved opcode %s', async (_hex, opcode) => {
      expect(await closeCodeAfter({ opcode, payload: 'x' })).toBe(1002);
    });

    it('a control frame over 125 bytes', async () => {
      expect(
        await closeCodeAfter({
          opcode: Opcode.PING,
          payload: Buffer.alloc(126, 0x61),
        }),
      ).toBe(1002);
    });

    it.each([
      ['ping', Opcode.PING],
      ['pong', Opcode.PONG],
      ['close', Opcode.CLOSE],
    ])('a fragmented %s frame', async (_name, opcode) => {
      expect(await closeCodeAfter({ opcode, fin: false })).toBe(1002);
    });

    it('a continuation frame with no message to continue', async () => {
      expect(
        await closeCodeAfter({ opcode: Opcode.CONTINUATION, payload: 'x' }),
      ).toBe(1002);
    });

    it('a new data frame in the middle of a fragmented message', async () => {
      expect(
        await closeCodeAfter(
          { opcode: Opcode.TEXT, fin: false, payload: '{"event":' },
          { opcode: Opcode.TEXT, payload: '{"event":"ping"}' },
        ),
      ).toBe(1002);
    });

    it.each([
      ['a one-byte payload', Buffer.from([0x03])],
      ['the reserved code 1005', Buffer.from([0x03, 0xed])],
      ['the reserved code 1006', Buffer.from([0x03, 0xee])],
      ['the invalid code 999', Buffer.from([0x03, 0xe7])],
      ['the invalid code 5000', Buffer.from([0x13, 0x88])],
    ])('a close frame with %s', async (_case, payload) => {
      expect(await closeCodeAfter({ opcode: Opcode.CLOSE, payload })).toBe(
        1002,
      );
    });
  });

  describe('size limits close 1009', () => {
    it('a message over the limit assembled from fragments', async () => {
      const part = Buffer.alloc(30_000, 0x61);
      expect(
        await closeCodeAfter(
          { opcode: Opcode.TEXT, fin: false, payload: part },
          { opcode: Opcode.CONTINUATION, fin: false, payload: part },
          { opcode: Opcode.CONTINUATION, payload: part },
        ),
      ).toBe(1009);
    });

    it('a frame header announcing more than the limit, before any payload arrives', async () => {
      const header = Buffer.from([0x81, 0x80 | 127, 0, 0, 0, 0, 0, 1, 0, 1]);
      expect(await closeCodeAfter(header)).toBe(1009);
    });

    it('a 64-bit length beyond 2^53', async () => {
      const header = Buffer.from([
        0x81,
        0x80 | 127,
        0x7f,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
      ]);
      expect(await closeCodeAfter(header)).toBe(1009);
    });
  });

  describe('fragmentation', () => {
    it('handles a fragmented message with a ping between its fragments', async () => {
      const raw = await attacker();
      raw.sendFrame({
        opcode: Opcode.TEXT,
        fin: false,
        payload: '{"event":"pi',
      });
      raw.sendFrame({ opcode: Opcode.PING, payload: 'are you there' });
      raw.sendFrame({
        opcode: Opcode.CONTINUATION,
        fin: false,
        payload: 'ng","id":',
      });
      raw.sendFrame({ opcode: Opcode.CONTINUATION, payload: '"frag"}' });
      expect((await raw.next('ping')).id).toBe('frag');
      const pong = raw.frames.find((frame) => frame.opcode === Opcode.PONG);
      expect(pong?.payload.toString()).toBe('are you there');
    });

    it('accepts a message in 200 fragments', async () => {
      const raw = await attacker();
      const text = JSON.stringify({ event: 'ping', id: 'many', data: {} });
      const padded = text.padEnd(200, ' ');
      for (let i = 0; i < 200; i++) {
        raw.sendFrame({
          opcode: i === 0 ? Opcode.TEXT : Opcode.CONTINUATION,
          fin: i === 199,
          payload: padded[i],
        });
      }
      expect((await raw.next('ping')).id).toBe('many');
    });

    it('closes a message as soon as it passes 256 fragments (1008), without waiting for the rest', async () => {
      // ws alone would buffer 16,384 fragments (about 1.8 MB of heap for 112 KB on the wire).
      const raw = await attacker();
      raw.sendFrame({ opcode: Opcode.TEXT, fin: false, payload: '[' });
      for (let i = 0; i < 299; i++) {
        raw.sendFrame({
          opcode: Opcode.CONTINUATION,
          fin: false,
          payload: ' ',
        });
      }
      expect((await raw.waitClosed()).code).toBe(1008);
    });

    it('closes 20,000 one-byte fragments early (1008), with heap and sockets back where they were', async () => {
      const heapBefore = heapUsedAfterGc();
      const fragments = [
        encodeFrame({ opcode: Opcode.TEXT, fin: false, payload: '[' }),
        ...Array.from({ length: 19_999 }, () =>
          encodeFrame({
            opcode: Opcode.CONTINUATION,
            fin: false,
            payload: ' ',
          }),
        ),
      ];
      const wire = Buffer.concat(fragments);
      const attackers = await Promise.all(
        Array.from({ length: 10 }, () => attacker()),
      );
      for (const raw of attackers) {
        raw.write(wire);
      }
      const closes = await Promise.all(
        attackers.map((raw) => raw.waitClosed(5000)),
      );
      expect(closes.map((close) => close.code)).toEqual(Array(10).fill(1008));
      await eventually(
        () => registry.size === 1,
        'the fragment attackers to be released',
      );
      const growth = heapUsedAfterGc() - heapBefore;
      expect(growth).toBeLessThan(4 * 1024 * 1024);
    });
  });
});
