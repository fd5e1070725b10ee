import {
  MemoryCounterStorage,
  WS_COUNTER_STORAGE,
  WsConnectionRegistry,
} from '@app/ws-middleware';
import type { WsConnection } from '@app/ws-middleware/adapters/ws-connection.js';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHAT_ENGINE } from '../../src/chat/engine/chat-engine.interface.js';
import type { MemoryChatEngine } from '../../src/chat/engine/memory-chat.engine.js';
import { LocalConnectionsService } from '../../src/chat/local-connections.service.js';
import {
  startChatAppWith,
  type SecurityChatApp,
} from '../support/chat-app-with.js';
import { encodeFrame, Opcode, RawWsClient } from '../support/raw-ws.js';
import { eventually, heapUsedAfterGc, within } from '../support/security.js';
import { WsTestClient } from '../support/ws-test-client.js';

type Message = { event: string; id?: unknown; data: any };

/**
 * Hands every JSON message a raw client parses to `onMessage` and forgets it, so that a client
 * receiving tens of megabytes keeps nothing (and the memory measured is the server's).
 */
function stream(raw: RawWsClient, onMessage: (message: Message) => void): void {
  raw.socket.on('data', () => {
    const messages = raw.messages.splice(0);
    raw.frames.length = 0;
    for (const message of messages) {
      onMessage(message);
    }
  });
}

/** The server's side of the connection of `user` (for what only the server can see). */
function serverConnectionOf(
  registry: WsConnectionRegistry,
  user: string,
): WsConnection {
  for (const connection of registry.all()) {
    if (connection.user?.id === user) {
      return connection as WsConnection;
    }
  }
  throw new Error(`no connection of ${user}`);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** A database file on tmpfs when there is one: fsync is free, and its pages are not our RSS. */
function scratchDatabase(name: string): string {
  const dir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  return join(
    dir,
    `ws-${name}-${process.pid}-${randomBytes(4).toString('hex')}.sqlite`,
  );
}

function removeDatabase(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) {
    rmSync(`${path}${suffix}`, { force: true });
  }
}

/**
 * A TCP proxy between a client and the server that can stop forwarding without closing either
 * side: what a dead NAT, a pulled cable or a suspended laptop looks like to the server (no FIN, no
 * RST, no answer). What the server sends after the stop is kept, to check it sent no close frame.
 */
class TcpProxy {
  private readonly server: Server;
  private readonly sockets: Socket[] = [];
  private forwarding = true;
  /** Bytes the server sent after `stop()`. */
  readonly afterStop: Buffer[] = [];
  /** When the server's side of the connection closed (performance.now()). */
  readonly upstreamClosed: Promise<number>;
  private onUpstreamClosed: (at: number) => void = () => undefined;

  constructor(private readonly targetPort: number) {
    this.upstreamClosed = new Promise((resolve) => {
      this.onUpstreamClosed = resolve;
    });
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1');
      this.sockets.push(client, upstream);
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
      client.on('data', (chunk: Buffer) => {
        if (this.forwarding) {
          upstream.write(chunk);
        }
      });
      upstream.on('data', (chunk: Buffer) => {
        if (this.forwarding) {
          client.write(chunk);
        } else {
          this.afterStop.push(chunk);
        }
      });
      upstream.on('close', () => this.onUpstreamClosed(performance.now()));
    });
  }

  /** Listens on an ephemeral port of 127.0.0.1 and returns it. */
  listen(): Promise<number> {
    return new Promise((resolve) => {
      this.server.listen(0, '127.0.0.1', () => {
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
  }

  /** Drops everything from now on, in both directions, keeping both connections open. */
  stop(): void {
    this.forwarding = false;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) {
      socket.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Opcodes of the unmasked server frames in `bytes` (all short: pings, pongs, closes). */
function serverOpcodes(bytes: Buffer): number[] {
  const opcodes: number[] = [];
  for (let offset = 0; offset + 2 <= bytes.length;) {
    const length = bytes[offset + 1] & 0x7f;
    if (length > 125) {
      throw new Error('a data frame was sent after the stop');
    }
    opcodes.push(bytes[offset] & 0x0f);
    offset += 2 + length;
  }
  return opcodes;
}

/**
 * Resources and lifecycle against the real AppModule: a client that stops reading is cut off at
 * 1 MiB without costing memory or the other members their latency; a peer that vanishes without
 * a FIN (a TCP proxy in the test stops forwarding) is dropped after two heartbeats with presence
 * and membership cleaned; and a client that drops abruptly recovers every acknowledged message.
 */
describe('Security: resources and lifecycle (e2e)', () => {
  describe('slow consumer', () => {
    /** Members that stop reading; each would hold the whole flood without the limit. */
    const SLOW = 3;
    /** 2,000 euro signs: 6 KB of UTF-8 per message, the longest text a message may carry. */
    const TEXT = '€'.repeat(2000);
    /** About 24 MB of broadcasts: far more than the kernel buffers and 1 MiB per member. */
    const MESSAGES = 4000;
    /** Messages the flooder keeps in flight (pipelined, without waiting for each reply). */
    const WINDOW = 64;
    const MIB = 1024 * 1024;
    const database = scratchDatabase('slow');
    let chat: SecurityChatApp;

    beforeAll(async () => {
      chat = await startChatAppWith({
        env: {
          SQLITE_PATH: database,
          WS_RATE_LIMIT: '1000000',
        },
      });
    });

    afterAll(async () => {
      await chat.close();
      removeDatabase(database);
    });

    it('closes members that stop reading 1008 "Slow consumer" at 1 MiB queued, with memory bounded and the other members served on time', async () => {
      const registry = chat.app.get(WsConnectionRegistry);
      const names = [
        'flooder',
        'probe',
        ...Array.from({ length: SLOW }, (_, i) => `slow${i}`),
      ];
      const tokens = await chat.createUsers(names);
      const join = async (name: string): Promise<RawWsClient> => {
        const raw = await RawWsClient.open(
          chat.port,
          `/ws/flood?token=${tokens.get(name) ?? ''}`,
        );
        await raw.next('join');
        return raw;
      };
      const flooder = await join('flooder');
      const probe = await join('probe');
      const slow: RawWsClient[] = [];
      for (let i = 0; i < SLOW; i++) {
        slow.push(await join(`slow${i}`));
      }
      await probe.waitForMessage(
        (m) => m.event === 'presence' && m.data.user === `slow${SLOW - 1}`,
        'the last slow member to join',
      );
      // What the server had queued for each slow member when it closed it.
      const queuedAtClose = new Map<string, number>();
      for (let i = 0; i < SLOW; i++) {
        const connection = serverConnectionOf(registry, `slow${i}`);
        const close = connection.close.bind(connection);
        connection.close = (code, reason) => {
          if (!queuedAtClose.has(`slow${i}`)) {
            queuedAtClose.set(`slow${i}`, connection.socket.bufferedAmount);
            // Reading again now, the member finds the close frame after what it was sent in time
            // (later, the server would have terminated it 5 s after the close frame).
            slow[i].socket.resume();
          }
          close(code, reason);
        };
      }
      // They stop reading: their kernel buffers fill, then the server's queue.
      const received = slow.map(() => 0);
      slow.forEach((raw, i) => {
        stream(raw, (message) => {
          if (message.event === 'message') {
            received[i]++;
          }
        });
        raw.socket.pause();
      });

      // The probe and the flooder read everything; the probe measures ping round trips.
      const delivered: string[] = [];
      const acked: string[] = [];
      const pongs = new Map<string, () => void>();
      stream(probe, (message) => {
        if (message.event === 'message') {
          delivered.push(String(message.data.id));
        } else if (message.event === 'ping') {
          pongs.get(message.id as string)?.();
        }
      });
      let sent = 0;
      let failures: Message[] = [];
      let done: () => void = () => undefined;
      const allAcked = new Promise<void>((resolve) => {
        done = resolve;
      });
      const sendOne = (): void => {
        flooder.emit('message', { room: 'flood', text: TEXT }, sent++);
      };
      stream(flooder, (message) => {
        if (message.id === undefined) {
          return;
        }
        if (message.event === 'message') {
          acked.push(String(message.data.id));
        } else {
          failures.push(message);
        }
        if (sent < MESSAGES) {
          sendOne();
        } else if (acked.length + failures.length === MESSAGES) {
          done();
        }
      });

      const heapBefore = heapUsedAfterGc();
      const externalBefore = process.memoryUsage().external;
      const rssBefore = process.memoryUsage().rss;
      let rssPeak = rssBefore;
      const started = performance.now();
      for (let i = 0; i < WINDOW; i++) {
        sendOne();
      }
      const rtts: number[] = [];
      let flooding = true;
      void allAcked.then(() => {
        flooding = false;
      });
      for (let n = 0; flooding; n++) {
        const id = `p${n}`;
        const pingAt = performance.now();
        const answered = new Promise<void>((resolve) => pongs.set(id, resolve));
        probe.emit('ping', {}, id);
        await within(answered, 5000, `the probe's ping #${n} during the flood`);
        pongs.delete(id);
        rtts.push(performance.now() - pingAt);
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      }
      await within(allAcked, 45_000, 'every flood message to be acknowledged');
      const seconds = (performance.now() - started) / 1000;

      expect(failures).toEqual([]);
      failures = [];
      expect(acked).toHaveLength(MESSAGES);
      // Every slow member was cut off once more than 1 MiB was queued for it, not later.
      await eventually(
        () => queuedAtClose.size === SLOW,
        'every slow member to be closed',
        5000,
        () => [...queuedAtClose],
      );
      for (const queued of queuedAtClose.values()) {
        expect(queued).toBeGreaterThan(MIB);
        expect(queued).toBeLessThan(MIB + 2 * Buffer.byteLength(TEXT));
      }
      // Memory: what the slow members did not read is not kept (without the limit each would
      // hold most of the 24 MB flood).
      const heapGrowth = heapUsedAfterGc() - heapBefore;
      const externalGrowth = process.memoryUsage().external - externalBefore;
      expect(heapGrowth + externalGrowth).toBeLessThan(
        SLOW * 2 * MIB + 4 * MIB,
      );
      expect(rssPeak - rssBefore).toBeLessThan(64 * MIB);

      // The probe got every message, in order, while its pings came back on time.
      await eventually(
        () => delivered.length === MESSAGES,
        'the probe to receive every message',
        5000,
        () => delivered.length,
      );
      expect(delivered).toEqual(acked);
      expect(rtts.length).toBeGreaterThan(20);
      expect(percentile(rtts, 0.99)).toBeLessThan(250);
      expect(seconds).toBeLessThan(45);

      for (const [i, raw] of slow.entries()) {
        expect(await raw.waitClosed(10_000)).toEqual({
          code: 1008,
          reason: 'Slow consumer',
        });
        expect(received[i]).toBeLessThan(MESSAGES / 2);
      }
      await eventually(
        () => registry.size === 2,
        'the slow members to be released',
        5000,
        () => registry.size,
      );
      expect(chat.logger.errors).toEqual([]);
      flooder.socket.destroy();
      probe.socket.destroy();
    }, 60_000);
  });

  describe('a burst of pipelined messages', () => {
    /** 1,500 messages of 6 KB written at once: 9 MB that the server reads 2 MB per turn. */
    const BURST = 1500;
    let chat: SecurityChatApp;

    beforeAll(async () => {
      chat = await startChatAppWith({ env: { WS_RATE_LIMIT: '1000000' } });
    });

    afterAll(async () => {
      await chat.close();
    });

    it('does not make members that read everything look like slow consumers', async () => {
      const tokens = await chat.createUsers(['burster', 'reader1', 'reader2']);
      const readers: RawWsClient[] = [];
      const counts = [0, 0];
      for (const [i, name] of ['reader1', 'reader2'].entries()) {
        const raw = await RawWsClient.open(
          chat.port,
          `/ws/burst?token=${tokens.get(name) ?? ''}`,
        );
        await raw.next('join');
        stream(raw, (message) => {
          if (message.event === 'message') {
            counts[i]++;
          }
        });
        readers.push(raw);
      }
      const burster = await RawWsClient.open(
        chat.port,
        `/ws/burst?token=${tokens.get('burster') ?? ''}`,
      );
      await burster.next('join');
      let replies = 0;
      let failures = 0;
      stream(burster, (message) => {
        if (message.id !== undefined) {
          replies++;
          failures += message.event === 'message' ? 0 : 1;
        }
      });
      const text = '€'.repeat(2000);
      burster.write(
        Buffer.concat(
          Array.from({ length: BURST }, (_, i) =>
            encodeFrame({
              opcode: Opcode.TEXT,
              payload: JSON.stringify({
                event: 'message',
                data: { room: 'burst', text },
                id: i,
              }),
            }),
          ),
        ),
      );
      await eventually(
        () => replies === BURST || readers.some((raw) => raw.ended),
        'every message of the burst to be answered',
        30_000,
        () => ({ replies, counts }),
      );
      expect(readers.map((raw) => raw.close)).toEqual([undefined, undefined]);
      expect(failures).toBe(0);
      await eventually(
        () => counts.every((count) => count === BURST),
        'both readers to receive the whole burst',
        10_000,
        () => counts,
      );
      expect(chat.logger.errors).toEqual([]);
      for (const raw of [burster, ...readers]) {
        raw.socket.destroy();
      }
    }, 60_000);
  });

  describe('half-open peer', () => {
    const HEARTBEAT_MS = 250;
    let chat: SecurityChatApp;
    let proxy: TcpProxy;
    let ghost: WsTestClient | undefined;

    beforeAll(async () => {
      chat = await startChatAppWith({
        env: { WS_HEARTBEAT_MS: String(HEARTBEAT_MS) },
      });
      proxy = new TcpProxy(chat.port);
    });

    afterAll(async () => {
      ghost?.socket.terminate();
      await proxy.close();
      await chat.close();
    });

    it('terminates a peer that stops answering after two heartbeat intervals, without a close frame, and cleans presence and membership', async () => {
      const registry = chat.app.get(WsConnectionRegistry);
      const engine = chat.app.get<MemoryChatEngine>(CHAT_ENGINE);
      const local = chat.app.get(LocalConnectionsService);
      const counters = chat.app.get<MemoryCounterStorage>(WS_COUNTER_STORAGE);
      const tokens = await chat.createUsers(['ghost', 'watcher']);
      const watcher = await chat.connect(
        tokens.get('watcher') ?? '',
        '/ws/halfopen',
      );
      await watcher.next('join');
      const baseline = {
        connections: registry.size,
        engine: engine.sizes,
        local: local.sizes,
        counters: counters.size,
      };

      const port = await proxy.listen();
      ghost = new WsTestClient(
        `ws://127.0.0.1:${port}/ws/halfopen?token=${tokens.get('ghost') ?? ''}`,
      );
      const client = ghost;
      await client.next('join');
      await client.request('status', { status: 'busy' });
      await watcher.waitFor(
        (f) => f.event === 'presence' && f.data.user === 'ghost',
        'ghost to join',
      );
      // Alive through the proxy: it answers pings (ws does) and stays.
      let pings = 0;
      let pinged: () => void = () => undefined;
      client.socket.on('ping', () => {
        pings++;
        if (pings >= 3) {
          pinged();
        }
      });
      await within(
        new Promise<void>((resolve) => {
          pinged = resolve;
        }),
        10 * HEARTBEAT_MS,
        'three heartbeat pings through the proxy',
      );
      expect((await client.request('ping', {})).event).toBe('ping');
      expect(registry.size).toBe(baseline.connections + 1);

      proxy.stop();
      const stoppedAt = performance.now();
      const closedAt = await within(
        proxy.upstreamClosed,
        3 * HEARTBEAT_MS + 2000,
        'the server to drop the silent peer',
      );
      const silentMs = closedAt - stoppedAt;
      // Two missed pings: at least two intervals of silence, at most three (and a loaded loop).
      expect(silentMs).toBeGreaterThanOrEqual(2 * HEARTBEAT_MS - 50);
      expect(silentMs).toBeLessThan(3 * HEARTBEAT_MS + 1000);
      // Only pings went out after the stop: terminated, not closed with a close frame.
      const opcodes = serverOpcodes(Buffer.concat(proxy.afterStop));
      expect(opcodes.length).toBeGreaterThanOrEqual(1);
      expect(new Set(opcodes)).toEqual(new Set([Opcode.PING]));

      // Presence: the room sees ghost leave, and then offline.
      const left = await watcher.waitFor(
        (f) => f.event === 'presence' && f.data.action === 'leave',
        'ghost to leave the room',
      );
      expect(left.data).toEqual({
        room: 'halfopen',
        user: 'ghost',
        action: 'leave',
        text: 'ghost has left the chat',
      });
      const offline = await watcher.waitFor(
        (f) => f.event === 'status' && f.data.status === 'offline',
        'ghost to go offline',
      );
      expect(offline.data).toEqual({ user: 'ghost', status: 'offline' });
      // Membership and every index are back where they were.
      const members = await watcher.request('members', { room: 'halfopen' });
      expect(members.data).toEqual({
        room: 'halfopen',
        members: [{ user: 'watcher', status: 'online' }],
      });
      await eventually(
        () =>
          JSON.stringify({
            connections: registry.size,
            engine: engine.sizes,
            local: local.sizes,
            counters: counters.size,
          }) === JSON.stringify(baseline),
        'every index to forget the ghost',
        2000,
        () => ({
          registry: registry.size,
          engine: engine.sizes,
          local: local.sizes,
        }),
      );
      // The peer itself never heard a thing: half-open, as from a dead NAT.
      expect(client.socket.readyState).toBe(client.socket.OPEN);
      expect(chat.logger.errors).toEqual([]);
    });
  });

  describe('abrupt disconnects', () => {
    const TOTAL = 300;
    let chat: SecurityChatApp;

    beforeAll(async () => {
      chat = await startChatAppWith({ env: { WS_RATE_LIMIT: '1000000' } });
    });

    afterAll(async () => {
      await chat.close();
    });

    it('lets a reader that vanished with a TCP reset recover every acknowledged message after its last seen id, even when the writer vanished too', async () => {
      const registry = chat.app.get(WsConnectionRegistry);
      const tokens = await chat.createUsers(['writer', 'reader']);
      const open = async (name: string): Promise<RawWsClient> => {
        const raw = await RawWsClient.open(
          chat.port,
          `/ws/recover?token=${tokens.get(name) ?? ''}`,
        );
        await raw.next('join');
        return raw;
      };
      const reader = await open('reader');
      const writer = await open('writer');
      await reader.waitForMessage(
        (m) => m.event === 'presence' && m.data.user === 'writer',
        'the writer to join',
      );

      // The reader sees messages live until it vanishes after the 100th.
      const seen: { id: string; text: string }[] = [];
      let readerGone: () => void = () => undefined;
      const readerReset = new Promise<void>((resolve) => {
        readerGone = resolve;
      });
      stream(reader, (message) => {
        if (message.event === 'message' && seen.length < 100) {
          seen.push({ id: String(message.data.id), text: message.data.text });
          if (seen.length === 100) {
            reader.reset();
            readerGone();
          }
        }
      });
      // The writer pipelines 16 at a time and vanishes after 200 acknowledgements, in the middle
      // of a frame, with more on the wire.
      const acked = new Map<string, string>();
      let sent = 0;
      let writerGone: () => void = () => undefined;
      const writerReset = new Promise<void>((resolve) => {
        writerGone = resolve;
      });
      const send = (): void => {
        const text = `message ${sent}`;
        writer.emit('message', { room: 'recover', text }, text);
        sent++;
      };
      let writing = true;
      stream(writer, (message) => {
        if (
          !writing ||
          message.event !== 'message' ||
          message.id === undefined
        ) {
          return;
        }
        acked.set(String(message.data.id), message.id as string);
        if (acked.size === 200) {
          const frame = encodeFrame({
            opcode: Opcode.TEXT,
            payload: JSON.stringify({
              event: 'message',
              data: { room: 'recover', text: 'never whole' },
            }),
          });
          writer.write(frame.subarray(0, 20));
          writer.reset();
          writing = false;
          writerGone();
        } else if (acked.size < 200 && sent < TOTAL) {
          send();
        }
      });
      for (let i = 0; i < 16; i++) {
        send();
      }
      await within(readerReset, 10_000, 'the reader to see 100 messages');
      await within(writerReset, 10_000, 'the writer to get 200 replies');
      await eventually(
        () => registry.size === 0,
        'the server to see both clients gone',
      );

      // The reader comes back and asks for everything after the last id it saw.
      const lastSeen = seen[seen.length - 1].id;
      const back = await chat.connect(
        tokens.get('reader') ?? '',
        '/ws/recover',
      );
      await back.next('join');
      const recovered: { id: string; text: string }[] = [];
      for (let after = lastSeen; ;) {
        const page = await back.request('history', {
          room: 'recover',
          after,
          limit: 100,
        });
        const messages = page.data.messages as { id: string; text: string }[];
        recovered.push(...messages.map(({ id, text }) => ({ id, text })));
        if (messages.length < 100) {
          break;
        }
        after = messages[messages.length - 1].id;
      }
      const ids = [...seen, ...recovered].map(({ id }) => BigInt(id));
      for (let i = 1; i < ids.length; i++) {
        expect(ids[i]).toBeGreaterThan(ids[i - 1]);
      }
      const all = new Map([...seen, ...recovered].map((m) => [m.id, m.text]));
      expect(acked.size).toBe(200);
      for (const [id, text] of acked) {
        expect(all.get(id)).toBe(text);
      }
      // Whatever else was stored came from the writer's frames, none twice.
      expect(new Set(all.values()).size).toBe(all.size);
      expect(all.size).toBeLessThanOrEqual(sent);
      expect(chat.logger.errors).toEqual([]);
    });
  });
});
