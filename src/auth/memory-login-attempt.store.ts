import { LOGIN_MAX_ATTEMPTS, LOGIN_WINDOW_MS } from './auth.constants.js';
import type { LoginAttemptStore } from './login-attempt-store.interface.js';

/**
 * Options of {@link MemoryLoginAttemptStore}.
 *
 * @publicApi
 */
export interface MemoryLoginAttemptStoreOptions {
  /** Attempts allowed per key within `windowMs` (default 5). */
  maxAttempts?: number;
  /** Length of the sliding window in ms (default 15 minutes). */
  windowMs?: number;
  /** Keys kept at most; when reached, the oldest half is forgotten (default 100000). */
  maxKeys?: number;
  /** Clock in ms (default `Date.now`); tests pass a fake one. */
  now?: () => number;
}

/**
 * In-process {@link LoginAttemptStore}: a sliding log of attempt times per key. Expired keys
 * are swept as the map grows, with no timer to own.
 *
 * @publicApi
 */
export class MemoryLoginAttemptStore implements LoginAttemptStore {
  private readonly attempts = new Map<string, number[]>();
  private readonly maxAttempts: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private sweepAt: number;

  constructor(options: MemoryLoginAttemptStoreOptions = {}) {
    this.maxAttempts = options.maxAttempts ?? LOGIN_MAX_ATTEMPTS;
    this.windowMs = options.windowMs ?? LOGIN_WINDOW_MS;
    this.maxKeys = options.maxKeys ?? 100_000;
    this.now = options.now ?? Date.now;
    this.sweepAt = Math.min(1024, this.maxKeys);
  }

  /** Number of keys currently tracked. */
  get size(): number {
    return this.attempts.size;
  }

  consume(key: string): Promise<number> {
    const now = this.now();
    const recent = this.recent(key, now);
    if (recent.length >= this.maxAttempts) {
      this.attempts.set(key, recent);
      // Allowed again once the oldest of the last `maxAttempts` attempts leaves the window.
      const oldest = recent[recent.length - this.maxAttempts] ?? now;
      return Promise.resolve(Math.max(1, oldest + this.windowMs - now));
    }
    recent.push(now);
    this.attempts.set(key, recent);
    this.bound(now);
    return Promise.resolve(0);
  }

  reset(key: string): Promise<void> {
    this.attempts.delete(key);
    return Promise.resolve();
  }

  private recent(key: string, now: number): number[] {
    const since = now - this.windowMs;
    return (this.attempts.get(key) ?? []).filter((time) => time > since);
  }

  private bound(now: number): void {
    if (this.attempts.size < this.sweepAt) {
      return;
    }
    const since = now - this.windowMs;
    for (const [key, times] of this.attempts) {
      if ((times.at(-1) ?? 0) <= since) {
        this.attempts.delete(key);
      }
    }
    if (this.attempts.size >= this.maxKeys) {
      // Map order is insertion order: forget the keys seen first, down to half the cap,
      // so that a full map is not swept again at every attempt.
      const keep = Math.floor(this.maxKeys / 2);
      for (const key of this.attempts.keys()) {
        if (this.attempts.size <= keep) {
          break;
        }
        this.attempts.delete(key);
      }
    }
    this.sweepAt = Math.min(
      this.maxKeys,
      Math.max(1024, this.attempts.size * 2),
    );
  }
}
