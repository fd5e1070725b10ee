import {
  DEFAULT_BACKOFF,
  fullJitterDelay,
  ReconnectBackoff,
  resolveBackoffOptions,
} from './reconnect-backoff.js';

describe(fullJitterDelay.name, () => {
  const options = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2 };

  it('draws uniformly below an exponentially growing ceiling', () => {
    expect(fullJitterDelay(0, options, () => 0.999999)).toBe(99);
    expect(fullJitterDelay(1, options, () => 0.5)).toBe(100);
    expect(fullJitterDelay(2, options, () => 0.5)).toBe(200);
    expect(fullJitterDelay(3, options, () => 0.25)).toBe(200);
  });

  it('can be zero (full jitter, not equal jitter)', () => {
    expect(fullJitterDelay(5, options, () => 0)).toBe(0);
  });

  it('never exceeds maxDelayMs, even after very many attempts', () => {
    expect(fullJitterDelay(4, options, () => 0.999999)).toBe(999);
    expect(fullJitterDelay(10_000, options, () => 0.999999)).toBe(999);
    expect(Number.isFinite(fullJitterDelay(1e9, options, () => 0.5))).toBe(
      true,
    );
  });

  it('clamps a random source outside [0, 1)', () => {
    expect(fullJitterDelay(0, options, () => 7)).toBe(100);
    expect(fullJitterDelay(0, options, () => -1)).toBe(0);
  });

  it('spreads the delays of many clients over the whole window', () => {
    const delays = Array.from({ length: 2000 }, () =>
      fullJitterDelay(3, options),
    );
    expect(Math.min(...delays)).toBeLessThan(100);
    expect(Math.max(...delays)).toBeGreaterThan(700);
    expect(Math.max(...delays)).toBeLessThan(800);
  });
});

describe(ReconnectBackoff.name, () => {
  it('counts attempts and grows until reset', () => {
    const backoff = new ReconnectBackoff(
      { initialDelayMs: 10, maxDelayMs: 100 },
      () => 0.5,
    );
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([
      5, 10, 20,
    ]);
    expect(backoff.attempt).toBe(3);
    backoff.reset();
    expect(backoff.attempt).toBe(0);
    expect(backoff.next()).toBe(5);
  });

  it('uses the defaults for missing or undefined fields', () => {
    expect(resolveBackoffOptions({ maxDelayMs: undefined })).toEqual(
      DEFAULT_BACKOFF,
    );
  });

  it('rejects bad numbers, naming the field and the value', () => {
    expect(() => new ReconnectBackoff({ initialDelayMs: -1 })).toThrow(
      'reconnect.initialDelayMs must be a finite number >= 0, got -1',
    );
    expect(() => new ReconnectBackoff({ factor: 0.5 })).toThrow(
      'reconnect.factor must be >= 1, got 0.5',
    );
    expect(() => new ReconnectBackoff({ maxDelayMs: Number.NaN })).toThrow(
      'reconnect.maxDelayMs',
    );
  });
});
