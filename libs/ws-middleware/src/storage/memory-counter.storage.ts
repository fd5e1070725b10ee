import { Injectable } from '@nestjs/common';
import type { WsCounterStorage } from '../interfaces/ws-counter-storage.interface.js';

/**
 * In-process `WsCounterStorage`: limits hold within one process.
 *
 * @publicApi
 */
@Injectable()
export class MemoryCounterStorage implements WsCounterStorage {
  private readonly counters = new Map<string, number>();

  /** Keys counted right now: one per user or IP with an open connection. */
  get size(): number {
    return this.counters.size;
  }

  increment(key: string): Promise<number> {
    const value = (this.counters.get(key) ?? 0) + 1;
    this.counters.set(key, value);
    return Promise.resolve(value);
  }

  decrement(key: string): Promise<void> {
    const value = (this.counters.get(key) ?? 0) - 1;
    if (value > 0) {
      this.counters.set(key, value);
    } else {
      this.counters.delete(key);
    }
    return Promise.resolve();
  }
}
