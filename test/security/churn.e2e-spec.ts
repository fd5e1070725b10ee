import {
  MemoryCounterStorage,
  WS_COUNTER_STORAGE,
  WS_HANDSHAKE_STORAGE,
  WsConnectionRegistry,
} from '@app/ws-middleware';
import { ThrottlerStorage } from '@nestjs/throttler';
import type { Server } from 'node:http';
import { CHAT_ENGINE } from '../../src/chat/engine/chat-engine.interface.js';
import type { MemoryChatEngine } from '../../src/chat/engine/memory-chat.engine.js';
import { LocalConnectionsService } from '../../src/chat/local-connections.service.js';
import {
  startChatAppWith,
  type SecurityChatApp,
} from '../support/chat-app-with.js';
import { encodeFrame, Opcode, RawWsClient } from '../support/raw-ws.js';
import {
  activeResources,
  eventually,
  heapUsedAfterGc,
  liveObjects,
  runPool,
  timeoutClass,
} from '../support/security.js';
import type { WsTestClient } from '../support/ws-test-client.js';

const USERS = 20;
const CYCLES = 2000;
const WARMUP = 200;
const CONCURRENCY = 8;
/** Keys held by an in-memory throttler storage (a `size`, or `@nestjs/throttler`'s `storage` map). */
function keysOf(storage: unknown): number {
  const candidate = storage as { size?: unknown; storage?: unknown };
  if (typeof candidate.size === 'number') {
    return candidate.size;
  }
  if (candidate.storage instanceof Map) {
    return candidate.storage.size;
  }
  throw new Error('cannot count the keys of this throttler storage');
}

/** Resource types that would reveal a leaked socket or timer. */
const TRACKED = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout', 'Immediate'];

/**
 * Connection churn against the real AppModule: thousands of clients connect, join, sometimes send,
 * and vanish with a TCP reset (some in the middle of a frame, some before they were even
 * accepted). Afterwards every index, counter, throttler key, listener, socket and timer is back
 * at its baseline, and the heap has not grown with the number of cycles.
 */
describe('Security: connection churn (e2e)', () => {
  let chat: SecurityChatApp;
  let tokens: string[];
  let observer: WsTestClient;

  /** Everything that must return to where it was once the clients are gone. */
  const snapshot = () => {
    const engine = chat.app.get<MemoryChatEngine>(CHAT_ENGINE);
    const resources = activeResources();
    const server = chat.app.getHttpServer() as Server;
    return {
      connections: chat.app.get(WsConnectionRegistry).size,
      local: chat.app.get(LocalConnectionsService).sizes,
      engine: engine.sizes,
      counters: chat.app.get<MemoryCounterStorage>(WS_COUNTER_STORAGE).size,
      handshakeKeys: keysOf(chat.app.get(WS_HANDSHAKE_STORAGE)),
      chatThrottlerKeys: keysOf(chat.app.get(ThrottlerStorage)),
      serverListeners: server
        .eventNames()
        .reduce<number>((sum, name) => sum + server.listenerCount(name), 0),
      resources: Object.fromEntries(
        TRACKED.map((type) => [type, resources[type] ?? 0]),
      ),
    };
  };

  /** One client's life: connect, join, maybe send, then vanish in one of five ways. */
  const cycle = async (index: number): Promise<void> => {
    const token = tokens[index % USERS];
    const variant = index % 5;
    const path = variant === 4 ? '/ws' : '/ws/churn';
    const raw = await RawWsClient.open(chat.port, `${path}?token=${token}`);
    if (raw.response.status !== 101) {
      throw new Error(`cycle ${index}: HTTP ${raw.response.status}`);
    }
    switch (variant) {
      case 0:
        await raw.next('join');
        break;
      case 1:
        // Gone while the server is still authenticating it.
        break;
      case 2: {
        await raw.next('join');
        // Half a frame: the header announces 100 bytes, 10 arrive.
        const frame = encodeFrame({
          opcode: Opcode.TEXT,
          payload: JSON.stringify({
            event: 'ping',
            data: { pad: 'x'.repeat(70) },
          }),
        });
        raw.write(frame.subarray(0, frame.length - 90));
        break;
      }
      case 3:
        await raw.next('join');
        // Gone while its message is being stored and delivered.
        raw.emit('message', { room: 'churn', text: `cycle ${index}` }, index);
        break;
      default:
        await raw.next('welcome');
        raw.emit('join', { room: `churn-${index % 7}` }, 'j');
        raw.emit('status', { status: 'away' }, 's');
        await raw.waitForMessage((m) => m.id === 'j', 'the join reply');
        break;
    }
    raw.reset();
  };

  /**
   * What only the heap shows: every timer object, `unref()`ed ones included (the expiry and
   * terminate timers of a connection are, so the active resources above never list them), the
   * connection and socket objects of the churned clients still alive, and the listeners on
   * `process`.
   */
  const Timeout = timeoutClass();
  const tracked: WeakRef<object>[] = [];
  const deepSnapshot = () => ({
    timers: liveObjects(Timeout),
    churnedObjectsAlive: tracked.filter((ref) => ref.deref() !== undefined)
      .length,
    processListeners: process
      .eventNames()
      .reduce<number>((sum, name) => sum + process.listenerCount(name), 0),
  });

  const settled = async (baseline: ReturnType<typeof snapshot>) => {
    await eventually(
      () => JSON.stringify(snapshot()) === JSON.stringify(baseline),
      'every index, counter and resource to return to its baseline',
      10_000,
      () => ({ now: snapshot(), baseline }),
    );
  };

  beforeAll(async () => {
    chat = await startChatAppWith({
      env: {
        WS_CONNECT_RATE_LIMIT: '1000000',
        WS_MAX_CONNECTIONS_PER_IP: '10000',
        WS_MAX_CONNECTIONS_PER_USER: '100',
        WS_RATE_LIMIT: '100000',
      },
    });
    const names = Array.from({ length: USERS }, (_, i) => `churn${i}`);
    const byName = await chat.createUsers([...names, 'observer']);
    tokens = names.map((name) => byName.get(name) ?? '');
    observer = await chat.connect(byName.get('observer') ?? '', '/ws/quiet');
  });

  afterAll(async () => {
    await chat.close();
  });

  it(`returns to its baseline after ${CYCLES} connect/join/reset cycles, some mid-frame`, async () => {
    // Warm-up: lazily created state (throttler keys, statement caches, JIT) exists afterwards.
    await runPool(WARMUP, CONCURRENCY, cycle);
    const quiet = {
      connections: 1,
      local: { connections: 1, users: 1, rooms: 1, roomSets: 1 },
      engine: { rooms: 1, users: 1, statuses: 1 },
      counters: 2,
    };
    await eventually(
      () => {
        const now = snapshot();
        return (
          JSON.stringify({
            connections: now.connections,
            local: now.local,
            engine: now.engine,
            counters: now.counters,
          }) === JSON.stringify(quiet)
        );
      },
      'the warm-up clients to be forgotten',
      10_000,
      snapshot,
    );
    const baseline = snapshot();
    const deepBaseline = deepSnapshot();
    // Every connection from now on is watched through weak references to it and its socket.
    const registry = chat.app.get(WsConnectionRegistry);
    const add = registry.add.bind(registry);
    registry.add = (connection) => {
      tracked.push(new WeakRef(connection), new WeakRef(connection.socket));
      add(connection);
    };
    const heapBefore = heapUsedAfterGc();

    const started = performance.now();
    await runPool(CYCLES, CONCURRENCY, cycle);
    const seconds = (performance.now() - started) / 1000;

    await settled(baseline);
    expect(snapshot()).toEqual(baseline);
    expect(tracked).toHaveLength(2 * CYCLES);
    await eventually(
      () => JSON.stringify(deepSnapshot()) === JSON.stringify(deepBaseline),
      'every connection, socket, timer and listener object to be released',
      10_000,
      () => ({ now: deepSnapshot(), deepBaseline }),
    );
    // Presence: nobody is left in the churn rooms, and the observer never saw them there.
    const rooms = await observer.request('rooms', {});
    expect(rooms.data.rooms).toEqual([{ room: 'quiet', members: 1 }]);
    expect((await observer.request('members', { room: 'churn' })).data).toEqual(
      { room: 'churn', members: [] },
    );
    const heapGrowth = heapUsedAfterGc() - heapBefore;
    expect(heapGrowth).toBeLessThan(8 * 1024 * 1024);
    expect(chat.logger.errors).toEqual([]);
    expect(seconds).toBeLessThan(30);
    expect((await observer.request('ping', {})).event).toBe('ping');
  }, 90_000);
});
