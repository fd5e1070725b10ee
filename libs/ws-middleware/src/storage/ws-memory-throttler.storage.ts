import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';

/** What `ThrottlerStorage.increment` resolves to (times in seconds, as `ThrottlerGuard` expects). */
export interface WsThrottlerRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

interface WindowState {
  hits: number;
  windowEndsAt: number;
  blockedUntil: number;
}

const SWEEP_INTERVAL_MS = 60_000;

/**
 * An O(1) in-process `ThrottlerStorage`: a fixed window per key (the same algorithm as
 * `@nest-lab/throttler-storage-redis`, so one node and a cluster count alike). `@nestjs/throttler`'s
 * own in-memory storage keeps one timestamp per hit and filters them on every hit, which grows
 * with the traffic per key; pass this one as `ThrottlerModule.forRoot({ throttlers, storage })`.
 *
 * @publicApi
 */
@Injectable()
export class WsMemoryThrottlerStorage
  implements ThrottlerStorage, OnApplicationShutdown
{
  private readonly windows = new Map<string, WindowState>();
  private readonly sweeper: NodeJS.Timeout;

  constructor() {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /** Keys currently counted (for leak checks). */
  get size(): number {
    return this.windows.size;
  }

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<WsThrottlerRecord> {
    const now = this.clock();
    const id = `${throttlerName}\u0000${key}`;
    let state = this.windows.get(id);
    if (!state || (now >= state.windowEndsAt && now >= state.blockedUntil)) {
      state = { hits: 0, windowEndsAt: now + ttl, blockedUntil: 0 };
      this.windows.set(id, state);
    } else if (now >= state.windowEndsAt) {
      state.hits = 0;
      state.windowEndsAt = now + ttl;
    }
    if (state.blockedUntil <= now) {
      state.hits++;
      if (state.hits > limit) {
        state.blockedUntil = now + blockDuration;
      }
    }
    const isBlocked = state.blockedUntil > now;
    return Promise.resolve({
      totalHits: state.hits,
      timeToExpire: Math.ceil((state.windowEndsAt - now) / 1000),
      isBlocked,
      timeToBlockExpire: isBlocked
        ? Math.ceil((state.blockedUntil - now) / 1000)
        : 0,
    });
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }

  /** The current time in ms (a hook for tests). */
  protected clock(): number {
    return Date.now();
  }

  private sweep(): void {
    const now = this.clock();
    for (const [id, state] of this.windows) {
      if (now >= state.windowEndsAt && now >= state.blockedUntil) {
        this.windows.delete(id);
      }
    }
  }
}
