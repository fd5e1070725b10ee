/** How long to wait between reconnection attempts. @publicApi */
export interface BackoffOptions {
  /** Cap of the first wait, in ms. Default 500. */
  initialDelayMs?: number;
  /** Cap of any wait, in ms. Default 30000. */
  maxDelayMs?: number;
  /** Growth of the cap per failed attempt. Default 2. */
  factor?: number;
}

/** {@link BackoffOptions} with every field set. */
export type ResolvedBackoffOptions = Required<BackoffOptions>;

/** The defaults of {@link BackoffOptions}. */
export const DEFAULT_BACKOFF: ResolvedBackoffOptions = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  factor: 2,
};

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * a uniformly random wait in `[0, min(maxDelayMs, initialDelayMs * factor^attempt))`, so that the
 * clients of a restarted server do not all come back at the same instant.
 *
 * @param attempt 0 for the first retry after a loss
 * @param random a source in `[0, 1)`, `Math.random` by default (injectable for tests)
 *
 * @publicApi
 */
export function fullJitterDelay(
  attempt: number,
  options: ResolvedBackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, Math.floor(attempt));
  // Grows until it passes the cap, then stays there (no overflow to Infinity * 0 = NaN).
  const ceiling = Math.min(
    options.maxDelayMs,
    options.initialDelayMs * Math.pow(options.factor, Math.min(exponent, 64)),
  );
  const sample = Math.min(Math.max(random(), 0), 1);
  return Math.floor(sample * ceiling);
}

/**
 * The attempt counter of one client: `next()` gives the wait before the next attempt and counts
 * it, `reset()` starts over once a connection was accepted.
 *
 * @publicApi
 */
export class ReconnectBackoff {
  private attempts = 0;
  private readonly options: ResolvedBackoffOptions;

  constructor(
    options: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.options = resolveBackoffOptions(options);
  }

  /** Attempts made since the last `reset()`. */
  get attempt(): number {
    return this.attempts;
  }

  /** The wait before the next attempt, in ms; counts the attempt. */
  next(): number {
    const delay = fullJitterDelay(this.attempts, this.options, this.random);
    this.attempts += 1;
    return delay;
  }

  reset(): void {
    this.attempts = 0;
  }
}

/** Fills the defaults and checks the numbers (a bad one throws, naming the field and value). */
export function resolveBackoffOptions(
  options: BackoffOptions = {},
): ResolvedBackoffOptions {
  const resolved = { ...DEFAULT_BACKOFF, ...dropUndefined(options) };
  for (const [field, value] of Object.entries(resolved)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(
        `reconnect.${field} must be a finite number >= 0, got ${String(value)}`,
      );
    }
  }
  if (resolved.factor < 1) {
    throw new RangeError(
      `reconnect.factor must be >= 1, got ${String(resolved.factor)}`,
    );
  }
  return resolved;
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, field]) => field !== undefined),
  ) as Partial<T>;
}
