import { PasswordHasher } from './password.hasher.js';

describe(PasswordHasher.name, () => {
  // Cheaper parameters keep most cases fast; the defaults get their own case.
  const fast = () => new PasswordHasher({ logN: 10, parallelization: 1 });

  it('stores a self-describing salted scrypt hash with the default parameters', async () => {
    const hash = await new PasswordHasher().hash('wonderland');
    const match =
      /^\$scrypt\$ln=14,r=8,p=5\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(
        hash,
      );
    expect(match).not.toBeNull();
    expect(Buffer.from(match?.[1] ?? '', 'base64')).toHaveLength(16);
    expect(Buffer.from(match?.[2] ?? '', 'base64')).toHaveLength(32);
    expect(hash).not.toContain('wonderland');
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const hasher = fast();
    const hash = await hasher.hash('correct horse');
    await expect(hasher.verify('correct horse', hash)).resolves.toBe(true);
    await expect(hasher.verify('correct horsE', hash)).resolves.toBe(false);
    await expect(hasher.verify('', hash)).resolves.toBe(false);
  });

  it('salts every hash', async () => {
    const hasher = fast();
    expect(await hasher.hash('same')).not.toBe(await hasher.hash('same'));
  });

  it('verifies with the parameters stored in the hash', async () => {
    const hash = await new PasswordHasher({
      logN: 11,
      blockSize: 4,
      parallelization: 2,
      keyBytes: 48,
    }).hash('pw');
    expect(hash.startsWith('$scrypt$ln=11,r=4,p=2$')).toBe(true);
    await expect(fast().verify('pw', hash)).resolves.toBe(true);
  });

  it('treats malformed or unsupported hashes as a mismatch', async () => {
    const hasher = fast();
    for (const stored of [
      '',
      'plain-text',
      '$scrypt$ln=14,r=8,p=5$$',
      '$scrypt$ln=40,r=8,p=5$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5',
      '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
    ]) {
      await expect(hasher.verify('pw', stored)).resolves.toBe(false);
    }
  });

  it('normalises Unicode so that composed and decomposed forms match', async () => {
    const hasher = fast();
    const hash = await hasher.hash('caf\u00e9-pass');
    await expect(hasher.verify('cafe\u0301-pass', hash)).resolves.toBe(true);
  });

  it('answers false for unknown users after the same work (dummy hash)', async () => {
    const hasher = fast();
    await hasher.onModuleInit();
    await expect(hasher.verifyDummy('anything')).resolves.toBe(false);
  });

  it('runs at most `concurrency` hashes at once and queues the rest', async () => {
    const hasher = new PasswordHasher({
      logN: 10,
      parallelization: 1,
      concurrency: 2,
    });
    const pending = Array.from({ length: 5 }, (_, i) => hasher.hash(`pw-${i}`));
    // acquire() runs synchronously up to the first await inside derive().
    await Promise.resolve();
    expect(hasher.running).toBe(2);
    expect(hasher.queued).toBe(3);
    const hashes = await Promise.all(pending);
    expect(new Set(hashes).size).toBe(5);
    expect(hasher.running).toBe(0);
    expect(hasher.queued).toBe(0);
  });

  it('refuses unsupported parameters at construction', () => {
    expect(() => new PasswordHasher({ logN: 30 })).toThrow(RangeError);
    expect(() => new PasswordHasher({ logN: 20, blockSize: 32 })).toThrow(
      RangeError,
    );
    expect(() => new PasswordHasher({ concurrency: 0 })).toThrow(RangeError);
  });
});
