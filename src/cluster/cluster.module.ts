import { Global, Module } from '@nestjs/common';
import { RedisCounterStorage } from './redis-counter.storage.js';
import { RedisService } from './redis.service.js';

/**
 * The multi-node engine's Redis connections and shared counters; inert without `REDIS_URL`.
 */
@Global()
@Module({
  providers: [RedisService, RedisCounterStorage],
  exports: [RedisService, RedisCounterStorage],
})
export class ClusterModule {}
