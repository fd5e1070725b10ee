/**
 * Counts login attempts per key (`<ip>|<username>`) in a sliding window, to lock out
 * password guessing. Swappable: in memory for one node, Redis for a cluster.
 *
 * An attempt is counted before the password is checked, so that parallel guesses cannot
 * slip past the limit; a successful login then resets the key.
 *
 * @publicApi
 */
export interface LoginAttemptStore {
  /**
   * Counts an attempt for `key` unless the key is locked out. Resolves to 0 when the attempt
   * may go ahead, or to the milliseconds until the key may try again (not counted then).
   */
  consume(key: string): Promise<number>;

  /** Forgets every attempt of `key` (after a successful login). */
  reset(key: string): Promise<void>;
}

/**
 * Injection token of the {@link LoginAttemptStore}.
 *
 * @example
 * { provide: LoginAttemptStore, useValue: new RedisLoginAttemptStore(redis) }
 *
 * @publicApi
 */
export const LoginAttemptStore = Symbol('LoginAttemptStore');
