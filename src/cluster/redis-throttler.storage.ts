import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { WsMemoryThrottlerStorage } from '@app/ws-middleware';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface.js';
import type { RedisService } from './redis.service.js';

/**
 * `@nest-lab/throttler-storage-redis` with this deployment's key prefix, its times converted to
 * seconds (what the in-memory storage and `ThrottlerGuard` use), and an in-memory fallback while
 * Redis is unreachable, so that rate limits keep working per node during an outage.
 */
export class RedisThrottlerStorage implements ThrottlerStorage {
  private readonly redisStorage: ThrottlerStorageRedisService;
  private readonly fallback = new WsMemoryThrottlerStorage();

  constructor(
    private readonly redis: RedisService,
    private readonly namespace: string,
  ) {
    if (!redis.client) {
      throw new Error('RedisThrottlerStorage needs REDIS_URL');
    }
    this.redisStorage = new ThrottlerStorageRedisService(redis.client);
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    if (!this.redis.isReady) {
      return this.fallback.increment(
        key,
        ttl,
        limit,
        blockDuration,
        throttlerName,
      );
    }
    try {
      const record = await this.redisStorage.increment(
        this.redis.key(this.namespace, key),
        ttl,
        limit,
        blockDuration,
        throttlerName,
      );
      return {
        ...record,
        timeToExpire: Math.ceil(record.timeToExpire / 1000),
        timeToBlockExpire: Math.ceil(record.timeToBlockExpire / 1000),
      };
    } catch (error) {
      this.redis.logError(error as Error);
      return this.fallback.increment(
        key,
        ttl,
        limit,
        blockDuration,
        throttlerName,
      );
    }
  }

  onApplicationShutdown(): void {
    this.fallback.onApplicationShutdown();
  }
}
