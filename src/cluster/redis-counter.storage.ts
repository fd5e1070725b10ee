import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { WsCounterStorage } from '@app/ws-middleware';
import { RedisService } from './redis.service.js';

/**
 * Connection counters shared by every node (per-user and per-IP limits cluster-wide). Each
 * connection is a sorted-set entry scored by expiry that its node refreshes every heartbeat, so
 * a node that dies releases its counts within three heartbeats. While Redis is unreachable the
 * limits fail open (this node still counts its own connections).
 */
@Injectable()
export class RedisCounterStorage
  implements WsCounterStorage, OnApplicationShutdown
{
  private readonly mine = new Map<string, string[]>();
  private sequence = 0;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly ttlMs: number;

  constructor(private readonly redis: RedisService) {
    this.ttlMs = redis.heartbeatMs * 3;
    if (redis.enabled) {
      this.timer = setInterval(() => void this.refresh(), redis.heartbeatMs);
      this.timer.unref();
    }
  }

  async increment(key: string): Promise<number> {
    const member = `${this.redis.nodeId}:${++this.sequence}`;
    const members = this.mine.get(key) ?? [];
    members.push(member);
    this.mine.set(key, members);
    const redisKey = this.redis.key('wscount', key);
    const now = Date.now();
    try {
      const results = await this.client()
        .multi()
        .zremrangebyscore(redisKey, '-inf', now)
        .zadd(redisKey, now + this.ttlMs, member)
        .pexpire(redisKey, this.ttlMs)
        .zcard(redisKey)
        .exec();
      return Number(results?.[3]?.[1] ?? members.length);
    } catch (error) {
      this.redis.logError(error as Error);
      return members.length;
    }
  }

  async decrement(key: string): Promise<void> {
    const members = this.mine.get(key);
    const member = members?.pop();
    if (members?.length === 0) {
      this.mine.delete(key);
    }
    if (!member) {
      return;
    }
    try {
      await this.client().zrem(this.redis.key('wscount', key), member);
    } catch (error) {
      this.redis.logError(error as Error);
    }
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    if (this.mine.size === 0 || !this.redis.isReady) {
      return;
    }
    const expiry = Date.now() + this.ttlMs;
    const pipeline = this.client().pipeline();
    for (const [key, members] of this.mine) {
      const redisKey = this.redis.key('wscount', key);
      for (const member of members) {
        pipeline.zadd(redisKey, expiry, member);
      }
      pipeline.pexpire(redisKey, this.ttlMs);
    }
    try {
      await pipeline.exec();
    } catch (error) {
      this.redis.logError(error as Error);
    }
  }

  private client(): NonNullable<RedisService['client']> {
    if (!this.redis.client) {
      throw new Error('RedisCounterStorage needs REDIS_URL');
    }
    return this.redis.client;
  }
}
