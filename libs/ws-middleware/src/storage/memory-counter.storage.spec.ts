import { MemoryCounterStorage } from './memory-counter.storage.js';

/** The keys the storage currently holds. */
function keysOf(storage: MemoryCounterStorage): string[] {
  return [
    ...(
      storage as unknown as { counters: Map<string, number> }
    ).counters.keys(),
  ];
}

describe(MemoryCounterStorage.name, () => {
  let storage: MemoryCounterStorage;

  beforeEach(() => {
    storage = new MemoryCounterStorage();
  });

  it('counts up from one and returns the new value', async () => {
    await expect(storage.increment('user:1')).resolves.toBe(1);
    await expect(storage.increment('user:1')).resolves.toBe(2);
    await expect(storage.increment('user:1')).resolves.toBe(3);
  });

  it('keeps keys apart', async () => {
    await storage.increment('user:1');
    await storage.increment('user:1');

    await expect(storage.increment('ip:10.0.0.1')).resolves.toBe(1);
    await expect(storage.increment('user:1')).resolves.toBe(3);
  });

  it('counts down', async () => {
    await storage.increment('user:1');
    await storage.increment('user:1');
    await storage.decrement('user:1');

    await expect(storage.increment('user:1')).resolves.toBe(2);
  });

  it('removes a key when it reaches zero', async () => {
    await storage.increment('user:1');
    await storage.increment('ip:10.0.0.1');
    await storage.decrement('user:1');

    expect(keysOf(storage)).toEqual(['ip:10.0.0.1']);
  });

  it('never goes below zero', async () => {
    await storage.increment('user:1');
    await storage.decrement('user:1');
    await storage.decrement('user:1');
    await storage.decrement('user:1');

    expect(keysOf(storage)).toEqual([]);
    await expect(storage.increment('user:1')).resolves.toBe(1);
  });

  it('ignores a decrement of an unknown key', async () => {
    await expect(storage.decrement('never-seen')).resolves.toBeUndefined();

    expect(keysOf(storage)).toEqual([]);
    await expect(storage.increment('never-seen')).resolves.toBe(1);
  });

  it('holds many concurrent increments exactly', async () => {
    const values = await Promise.all(
      Array.from({ length: 100 }, () => storage.increment('user:1')),
    );

    expect(new Set(values).size).toBe(100);
    expect(Math.max(...values)).toBe(100);
    await Promise.all(values.map(() => storage.decrement('user:1')));
    expect(keysOf(storage)).toEqual([]);
  });
});
