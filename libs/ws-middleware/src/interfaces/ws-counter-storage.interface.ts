/**
 * Counters of simultaneous connections (per user, per IP). Implement it on a shared store to make
 * the limits hold across processes, and provide it under `WS_COUNTER_STORAGE`.
 *
 * @publicApi
 */
export interface WsCounterStorage {
  /** Adds one to `key` and returns the new value. */
  increment(key: string): Promise<number>;
  /** Removes one from `key`. */
  decrement(key: string): Promise<void>;
}
