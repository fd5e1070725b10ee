import { WsMemoryThrottlerStorage } from './ws-memory-throttler.storage.js';

class ManualClockStorage extends WsMemoryThrottlerStorage {
  now = 1_000_000;

  protected clock(): number {
    return this.now;
  }
}

describe(WsMemoryThrottlerStorage.name, () => {
  let storage: ManualClockStorage;

  beforeEach(() => {
    storage = new ManualClockStorage();
  });

  afterEach(() => {
    storage.onApplicationShutdown();
  });

  it('counts hits in a fixed window and blocks past the limit', async () => {
    for (let i = 1; i <= 3; i++) {
      const record = await storage.increment('k', 60_000, 3, 60_000, 'default');
      expect(record).toMatchObject({
        totalHits: i,
        isBlocked: false,
        timeToBlockExpire: 0,
      });
      expect(record.timeToExpire).toBe(60);
    }
    const blocked = await storage.increment('k', 60_000, 3, 30_000, 'default');
    expect(blocked).toMatchObject({ isBlocked: true, timeToBlockExpire: 30 });
  });

  it('keeps keys and throttler names apart', async () => {
    await storage.increment('a', 60_000, 1, 60_000, 'one');
    expect(
      (await storage.increment('a', 60_000, 1, 60_000, 'two')).isBlocked,
    ).toBe(false);
    expect(
      (await storage.increment('b', 60_000, 1, 60_000, 'one')).isBlocked,
    ).toBe(false);
    expect(
      (await storage.increment('a', 60_000, 1, 60_000, 'one')).isBlocked,
    ).toBe(true);
    expect(storage.size).toBe(3);
  });

  it('starts a new window once the old one and the block are over', async () => {
    await storage.increment('k', 1000, 1, 2000, 'default');
    expect(
      (await storage.increment('k', 1000, 1, 2000, 'default')).isBlocked,
    ).toBe(true);
    storage.now += 1500;
    expect(
      (await storage.increment('k', 1000, 1, 2000, 'default')).isBlocked,
    ).toBe(true);
    storage.now += 600;
    expect(
      await storage.increment('k', 1000, 1, 2000, 'default'),
    ).toMatchObject({
      totalHits: 1,
      isBlocked: false,
    });
  });
});
