import { LOGIN_MAX_ATTEMPTS, LOGIN_WINDOW_MS } from '../auth/auth.constants.js';
import type { LoginAttemptStore } from '../auth/login-attempt-store.interface.js';
import { MemoryLoginAttemptStore } from '../auth/memory-login-attempt.store.js';
import { RedisService } from './redis.service.js';

/**
 * Counts an attempt unless the key is locked out: a sliding log in a sorted set scored by time.
 * Returns 0 (counted) or the milliseconds until the key may try again (not counted).
 */
const CONSUME = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
local count = redis.call('ZCARD', KEYS[1])
local max = tonumber(ARGV[3])
if count >= max then
  local oldest = redis.call('ZRANGE', KEYS[1], count - max, count - max, 'WITHSCORES')
  local wait = tonumber(oldest[2]) + tonumber(ARGV[2]) - tonumber(ARGV[1])
  if wait < 1 then wait = 1 end
  return wait
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0`;

/**
 * The login lockout of every node in one place (5 failures per username and IP in 15 minutes,
 * PROTOCOL.md), so that a load balancer spreading guesses over the nodes does not multiply the
 * allowance. While Redis is unreachable it counts in this process, like the other limits.
 */
export class RedisLoginAttemptStore implements LoginAttemptStore {
  private readonly fallback = new MemoryLoginAttemptStore();
  private sequence = 0;

  constructor(private readonly redis: RedisService) {}

  async consume(key: string): Promise<number> {
    const client = this.redis.client;
    if (!client) {
      return this.fallback.consume(key);
    }
    const now = Date.now();
    try {
      const wait = await client.eval(
        CONSUME,
        1,
        this.redis.key('login', key),
        now,
        LOGIN_WINDOW_MS,
        LOGIN_MAX_ATTEMPTS,
        `${now}:${this.redis.nodeId}:${++this.sequence}`,
      );
      return Number(wait);
    } catch (error) {
      this.redis.logError(error as Error);
      return this.fallback.consume(key);
    }
  }

  async reset(key: string): Promise<void> {
    await this.fallback.reset(key);
    try {
      await this.redis.client?.del(this.redis.key('login', key));
    } catch (error) {
      this.redis.logError(error as Error);
    }
  }
}
