import { MemoryLoginAttemptStore } from './memory-login-attempt.store.js';

describe(MemoryLoginAttemptStore.name, () => {
  const WINDOW = 15 * 60 * 1000;
  let now: number;
  let store: MemoryLoginAttemptStore;

  beforeEach(() => {
    now = 1_000_000;
    store = new MemoryLoginAttemptStore({ now: () => now });
  });

  async function consumeTimes(key: string, times: number): Promise<number[]> {
    const results: number[] = [];
    for (let i = 0; i < times; i += 1) {
      results.push(await store.consume(key));
    }
    return results;
  }

  it('allows 5 attempts in 15 minutes, then locks the key out until the window passes', async () => {
    expect(await consumeTimes('ip|alice', 5)).toEqual([0, 0, 0, 0, 0]);
    expect(await store.consume('ip|alice')).toBe(WINDOW);
    now += WINDOW - 1;
    expect(await store.consume('ip|alice')).toBe(1);
    now += 1;
    expect(await store.consume('ip|alice')).toBe(0);
  });

  it('slides the window: each old attempt frees one slot as it expires', async () => {
    await store.consume('k');
    now += 60_000;
    await consumeTimes('k', 4);
    expect(await store.consume('k')).toBe(WINDOW - 60_000);
    now += WINDOW - 60_000;
    expect(await store.consume('k')).toBe(0);
    expect(await store.consume('k')).toBe(60_000);
  });

  it('does not count refused attempts', async () => {
    await consumeTimes('k', 5);
    now += 10 * 60_000;
    expect(await store.consume('k')).toBe(5 * 60_000);
    now += 5 * 60_000;
    expect(await store.consume('k')).toBe(0);
  });

  it('forgets a key on reset', async () => {
    await consumeTimes('k', 5);
    await store.reset('k');
    expect(await consumeTimes('k', 5)).toEqual([0, 0, 0, 0, 0]);
  });

  it('keeps keys apart', async () => {
    await consumeTimes('1.1.1.1|alice', 5);
    expect(await store.consume('2.2.2.2|alice')).toBe(0);
    expect(await store.consume('1.1.1.1|bob')).toBe(0);
  });

  it('sweeps expired keys and stays under maxKeys', async () => {
    const small = new MemoryLoginAttemptStore({ maxKeys: 8, now: () => now });
    for (let i = 0; i < 50; i += 1) {
      await small.consume(`key-${i}`);
    }
    expect(small.size).toBeLessThanOrEqual(8);
    now += WINDOW;
    await small.consume('late');
    for (let i = 0; i < 8; i += 1) {
      await small.consume(`new-${i}`);
    }
    expect(small.size).toBeLessThanOrEqual(8);
  });
});
