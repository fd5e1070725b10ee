import {
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { UserStatus } from '../chat/chat.constants.js';
import type {
  ChatDelivery,
  ChatEngine,
  RoomSummary,
} from '../chat/engine/chat-engine.interface.js';
import { MemoryChatEngine } from '../chat/engine/memory-chat.engine.js';
import { clusterMetrics } from './cluster-metrics.js';
import { RedisService } from './redis.service.js';

/** Adds a connection to a room; 1 when its user just became a member. */
const JOIN = `
local live = redis.call('ZCOUNT', KEYS[1], ARGV[1], '+inf')
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], 'GT', ARGV[2], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[5])
redis.call('ZADD', KEYS[4], 'GT', ARGV[2], ARGV[5])
if live == 0 then return 1 end
return 0`;

/** Removes a connection from a room; 1 when its user just stopped being a member. */
const LEAVE = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[4])
return 1`;

/** Registers a connection of a user; 1 when it is the user's first live one. */
const CONNECT = `
local live = redis.call('ZCOUNT', KEYS[1], ARGV[1], '+inf')
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
if live == 0 then
  redis.call('HSET', KEYS[3], ARGV[4], 'online')
  return 1
end
return 0`;

/** Unregisters a connection; 1 when it was the user's last live one. */
const DISCONNECT = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[3])
redis.call('HDEL', KEYS[3], ARGV[3])
return 1`;

interface LocalConnection {
  user: string;
  rooms: Set<string>;
}

interface Envelope {
  o: string;
  d: ChatDelivery;
}

function isDelivery(value: unknown): value is ChatDelivery {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const delivery = value as Record<string, unknown>;
  if (typeof delivery.frame !== 'string') {
    return false;
  }
  if (delivery.kind === 'room') {
    return typeof delivery.room === 'string';
  }
  return (
    delivery.kind === 'users' &&
    Array.isArray(delivery.users) &&
    delivery.users.every((user) => typeof user === 'string')
  );
}

/**
 * The multi-node `ChatEngine` on Redis. Membership and presence are sorted sets scored by expiry:
 * every node refreshes the entries of its own connections each `CLUSTER_HEARTBEAT_MS` and they
 * live three heartbeats, so the entries of a node that dies vanish within three heartbeats; a
 * reaper (one node at a time, under a lock) then announces the leaves and offlines. Deliveries go
 * to local connections at once and to other nodes over one pub/sub channel; a node ignores its
 * own publications, so every connection gets a frame exactly once, in per-sender order.
 *
 * A `MemoryChatEngine` mirrors this node's own connections (rooms, statuses). While Redis is
 * unreachable every operation falls back to it, so the node keeps serving its local clients
 * (joins, room and private messages among them, new connections); the heartbeat writes the
 * mirror back (statuses included) once Redis answers again, even if Redis lost its data.
 */
@Injectable()
export class RedisChatEngine
  implements ChatEngine, OnModuleInit, OnApplicationShutdown
{
  private readonly logger = new Logger(RedisChatEngine.name);
  private readonly local = new Map<string, LocalConnection>();
  /** This node's connections only: the answers while Redis is unreachable. */
  private readonly mirror = new MemoryChatEngine();
  private handler: (delivery: ChatDelivery) => void = () => undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly channel: string;
  private readonly ttlMs: number;

  constructor(private readonly redis: RedisService) {
    this.channel = redis.key('events');
    this.ttlMs = redis.heartbeatMs * 3;
  }

  onModuleInit(): void {
    const subscriber = this.redis.subscriber;
    if (!subscriber) {
      return;
    }
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) {
        this.onMessage(message);
      }
    });
    // Subscribe on every (re)connection: an outage must not need a restart.
    const subscribe = (): void => {
      subscriber
        .subscribe(this.channel)
        .catch((error: Error) => this.redis.logError(error));
    };
    subscriber.on('ready', subscribe);
    if (subscriber.status === 'ready') {
      subscribe();
    }
    this.timer = setInterval(
      () => void this.heartbeat(),
      this.redis.heartbeatMs,
    );
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async joinRoom(
    room: string,
    user: string,
    connectionId: string,
  ): Promise<boolean> {
    const state = this.localOf(connectionId, user);
    state.rooms.add(room);
    const firstHere = await this.mirror.joinRoom(room, user, connectionId);
    return this.orLocal(firstHere, async () => {
      const now = Date.now();
      const first = await this.client().eval(
        JOIN,
        4,
        this.roomUserKey(room, user),
        this.redis.key('room', room),
        this.redis.key('rooms'),
        this.redis.key('userrooms', user),
        now,
        now + this.ttlMs,
        connectionId,
        user,
        room,
      );
      return first === 1;
    });
  }

  async leaveRoom(
    room: string,
    user: string,
    connectionId: string,
  ): Promise<boolean> {
    this.local.get(connectionId)?.rooms.delete(room);
    const lastHere = await this.mirror.leaveRoom(room, user, connectionId);
    return this.orLocal(lastHere, async () => {
      const last = await this.client().eval(
        LEAVE,
        3,
        this.roomUserKey(room, user),
        this.redis.key('room', room),
        this.redis.key('userrooms', user),
        connectionId,
        Date.now(),
        user,
        room,
      );
      return last === 1;
    });
  }

  async isMember(room: string, user: string): Promise<boolean> {
    // A member through one of this node's connections needs no round trip (nor Redis).
    if (await this.mirror.isMember(room, user)) {
      return true;
    }
    return this.orLocal(false, async () => {
      const score = await this.client().zscore(
        this.redis.key('room', room),
        user,
      );
      return score !== null && Number(score) > Date.now();
    });
  }

  async roomMembers(room: string): Promise<string[]> {
    return this.orLocal(
      () => this.mirror.roomMembers(room),
      () =>
        this.client().zrangebyscore(
          this.redis.key('room', room),
          Date.now(),
          '+inf',
        ),
    );
  }

  async roomsOf(user: string): Promise<string[]> {
    return this.orLocal(
      () => this.mirror.roomsOf(user),
      () =>
        this.client().zrangebyscore(
          this.redis.key('userrooms', user),
          Date.now(),
          '+inf',
        ),
    );
  }

  async listRooms(): Promise<RoomSummary[]> {
    return this.orLocal(
      () => this.mirror.listRooms(),
      () => this.listRoomsInRedis(),
    );
  }

  private async listRoomsInRedis(): Promise<RoomSummary[]> {
    const rooms = await this.client().smembers(this.redis.key('rooms'));
    const now = Date.now();
    const pipeline = this.client().pipeline();
    for (const room of rooms) {
      pipeline.zcount(this.redis.key('room', room), now, '+inf');
    }
    const counts = (await pipeline.exec()) ?? [];
    return rooms
      .map((room, index) => ({
        room,
        members: Number(counts[index]?.[1] ?? 0),
      }))
      .filter((summary) => summary.members > 0);
  }

  async userConnected(user: string, connectionId: string): Promise<boolean> {
    this.localOf(connectionId, user);
    const firstHere = await this.mirror.userConnected(user, connectionId);
    return this.orLocal(firstHere, async () => {
      const now = Date.now();
      const first = await this.client().eval(
        CONNECT,
        3,
        this.redis.key('user', user),
        this.redis.key('users'),
        this.redis.key('status'),
        now,
        now + this.ttlMs,
        connectionId,
        user,
      );
      return first === 1;
    });
  }

  async userDisconnected(user: string, connectionId: string): Promise<boolean> {
    this.local.delete(connectionId);
    const lastHere = await this.mirror.userDisconnected(user, connectionId);
    return this.orLocal(lastHere, async () => {
      const last = await this.client().eval(
        DISCONNECT,
        3,
        this.redis.key('user', user),
        this.redis.key('users'),
        this.redis.key('status'),
        connectionId,
        Date.now(),
        user,
      );
      return last === 1;
    });
  }

  async onlineUsers(): Promise<number> {
    return this.orLocal(
      () => this.mirror.onlineUsers(),
      () => this.onlineUsersInRedis(),
    );
  }

  private async onlineUsersInRedis(): Promise<number> {
    const users = await this.client().smembers(this.redis.key('users'));
    const now = Date.now();
    const pipeline = this.client().pipeline();
    for (const user of users) {
      pipeline.zcount(this.redis.key('user', user), now, '+inf');
    }
    const counts = (await pipeline.exec()) ?? [];
    return counts.filter((result) => Number(result?.[1] ?? 0) > 0).length;
  }

  async statuses(users: string[]): Promise<Map<string, UserStatus>> {
    return this.orLocal(
      () => this.mirror.statuses(users),
      () => this.statusesInRedis(users),
    );
  }

  private async statusesInRedis(
    users: string[],
  ): Promise<Map<string, UserStatus>> {
    const now = Date.now();
    const pipeline = this.client().pipeline();
    for (const user of users) {
      pipeline.zcount(this.redis.key('user', user), now, '+inf');
    }
    if (users.length > 0) {
      pipeline.hmget(this.redis.key('status'), ...users);
    }
    const results = (await pipeline.exec()) ?? [];
    const stored = (results[users.length]?.[1] ?? []) as (string | null)[];
    return new Map(
      users.map((user, index) => {
        const live = Number(results[index]?.[1] ?? 0) > 0;
        const status = (stored[index] ?? 'online') as UserStatus;
        return [user, live ? status : 'offline'];
      }),
    );
  }

  async setStatus(user: string, status: UserStatus): Promise<void> {
    await this.mirror.setStatus(user, status);
    await this.orLocal(undefined, async () => {
      await this.client().hset(this.redis.key('status'), user, status);
    });
  }

  async publish(delivery: ChatDelivery): Promise<void> {
    this.handler(delivery);
    const envelope: Envelope = { o: this.redis.nodeId, d: delivery };
    try {
      await this.client().publish(this.channel, JSON.stringify(envelope));
    } catch (error) {
      // Local clients have it; other nodes' clients recover it with `history after`.
      clusterMetrics.publishFailures.inc();
      this.redis.logError(error as Error);
    }
  }

  onDelivery(handler: (delivery: ChatDelivery) => void): void {
    this.handler = handler;
  }

  /** Refreshes this node's entries, then (one node at a time) reaps dead ones. */
  async heartbeat(): Promise<void> {
    if (!this.redis.isReady) {
      return;
    }
    try {
      await this.refresh();
      const lock = await this.client().set(
        this.redis.key('reaper'),
        this.redis.nodeId,
        'PX',
        this.redis.heartbeatMs,
        'NX',
      );
      if (lock === 'OK') {
        await this.reap();
      }
    } catch (error) {
      this.redis.logError(error as Error);
    }
  }

  private async refresh(): Promise<void> {
    if (this.local.size === 0) {
      return;
    }
    const expiry = Date.now() + this.ttlMs;
    const pipeline = this.client().pipeline();
    const rooms = this.redis.key('rooms');
    const users = this.redis.key('users');
    const status = this.redis.key('status');
    const known = await this.mirror.statuses([
      ...new Set([...this.local.values()].map(({ user }) => user)),
    ]);
    for (const [connectionId, { user, rooms: joined }] of this.local) {
      pipeline.zadd(this.redis.key('user', user), expiry, connectionId);
      pipeline.sadd(users, user);
      // Only fills a gap (a Redis that lost its data): a newer status set elsewhere stays.
      const mine = known.get(user);
      pipeline.hsetnx(
        status,
        user,
        mine === undefined || mine === 'offline' ? 'online' : mine,
      );
      for (const room of joined) {
        pipeline.zadd(this.roomUserKey(room, user), expiry, connectionId);
        pipeline.zadd(this.redis.key('room', room), 'GT', expiry, user);
        pipeline.zadd(this.redis.key('userrooms', user), 'GT', expiry, room);
        pipeline.sadd(rooms, room);
      }
    }
    await pipeline.exec();
  }

  /** Removes expired entries (dead nodes) and announces the leaves and offlines they mean. */
  private async reap(): Promise<void> {
    const client = this.client();
    const now = Date.now();
    const users = await client.smembers(this.redis.key('users'));
    const gone: { user: string; rooms: string[] }[] = [];
    for (const user of users) {
      const key = this.redis.key('user', user);
      const removed = await client.zremrangebyscore(key, '-inf', now);
      clusterMetrics.reapedConnections.inc(removed);
      if ((await client.zcard(key)) === 0) {
        const rooms = await client.zrange(
          this.redis.key('userrooms', user),
          0,
          -1,
        );
        await client
          .multi()
          .srem(this.redis.key('users'), user)
          .hdel(this.redis.key('status'), user)
          .exec();
        gone.push({ user, rooms });
      }
    }
    const peersOfGone = new Map<string, Set<string>>();
    for (const { user, rooms } of gone) {
      const peers = new Set<string>();
      for (const room of rooms) {
        for (const member of await this.roomMembers(room)) {
          peers.add(member);
        }
      }
      peers.delete(user);
      peersOfGone.set(user, peers);
    }
    for (const room of await client.smembers(this.redis.key('rooms'))) {
      const roomKey = this.redis.key('room', room);
      for (const user of await client.zrangebyscore(roomKey, '-inf', now)) {
        await client
          .multi()
          .zrem(roomKey, user)
          .zrem(this.redis.key('userrooms', user), room)
          .del(this.roomUserKey(room, user))
          .exec();
        const text = `${user} has left the chat`;
        await this.publish({
          kind: 'room',
          room,
          frame: JSON.stringify({
            event: 'presence',
            data: { room, user, action: 'leave', text },
          }),
        });
      }
      if ((await client.zcard(roomKey)) === 0) {
        await client.srem(this.redis.key('rooms'), room);
      }
    }
    for (const [user, peers] of peersOfGone) {
      if (peers.size > 0) {
        await this.publish({
          kind: 'users',
          users: [...peers],
          frame: JSON.stringify({
            event: 'status',
            data: { user, status: 'offline' },
          }),
        });
      }
    }
  }

  private onMessage(message: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(message) as Envelope;
    } catch {
      clusterMetrics.invalidPubSubMessages.inc();
      return;
    }
    if (
      typeof envelope !== 'object' ||
      envelope === null ||
      typeof envelope.o !== 'string' ||
      !isDelivery(envelope.d)
    ) {
      clusterMetrics.invalidPubSubMessages.inc();
      return;
    }
    if (envelope.o === this.redis.nodeId) {
      return;
    }
    try {
      this.handler(envelope.d);
    } catch (error) {
      this.logger.error(
        'delivery failed',
        error instanceof Error ? error.stack : String(error),
      );
    }
  }

  /**
   * The cluster-wide answer from Redis, or, when Redis fails (unreachable: commands fail at once,
   * or after the command timeout), this node's own answer, counted and logged.
   */
  private async orLocal<T>(
    local: T | (() => Promise<T>),
    work: () => Promise<T>,
  ): Promise<T> {
    try {
      return await work();
    } catch (error) {
      clusterMetrics.localFallbacks.inc();
      this.redis.logError(error as Error);
      return typeof local === 'function'
        ? (local as () => Promise<T>)()
        : local;
    }
  }

  private localOf(connectionId: string, user: string): LocalConnection {
    let state = this.local.get(connectionId);
    if (!state) {
      state = { user, rooms: new Set() };
      this.local.set(connectionId, state);
    }
    return state;
  }

  private roomUserKey(room: string, user: string): string {
    return this.redis.key('roomuser', room, user);
  }

  private client(): NonNullable<RedisService['client']> {
    const client = this.redis.client;
    if (!client) {
      throw new Error('RedisChatEngine needs REDIS_URL');
    }
    return client;
  }
}
