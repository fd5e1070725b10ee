import {
  Inject,
  Injectable,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import {
  randomBytes,
  scrypt,
  type ScryptOptions,
  timingSafeEqual,
} from 'node:crypto';
import {
  PASSWORD_HASH_CONCURRENCY,
  PASSWORD_HASHER_OPTIONS,
} from './auth.constants.js';

/**
 * Tuning of {@link PasswordHasher}; every field is optional.
 *
 * @publicApi
 */
export interface PasswordHasherOptions {
  /** log2 of the scrypt cost N (default 14, i.e. N = 16384). */
  logN?: number;
  /** scrypt block size r (default 8). */
  blockSize?: number;
  /** scrypt parallelisation p (default 5). */
  parallelization?: number;
  /** Salt length in bytes (default 16). */
  saltBytes?: number;
  /** Derived key length in bytes (default 32). */
  keyBytes?: number;
  /** Hashes computed at once; the rest wait (default 2). */
  concurrency?: number;
}

interface ScryptParams {
  logN: number;
  blockSize: number;
  parallelization: number;
}

/** `$scrypt$ln=14,r=8,p=5$<salt>$<key>`, PHC string format (unpadded base64). */
const PHC_SCRYPT =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{11,88})\$([A-Za-z0-9+/]{22,172})$/;

/**
 * Salted scrypt password hashing (async, on libuv's thread pool).
 *
 * Hashes are self-describing PHC strings (`$scrypt$ln=14,r=8,p=5$salt$key`), so the
 * parameters can change without invalidating stored hashes. Keys are compared with
 * `timingSafeEqual`. At most `concurrency` hashes run at once and the rest queue, so a burst
 * of logins cannot take every thread-pool thread from file and DNS work. Unknown users are
 * checked against a dummy hash ({@link verifyDummy}) so that they cost the same time.
 *
 * @publicApi
 */
@Injectable()
export class PasswordHasher implements OnModuleInit {
  private readonly params: ScryptParams;
  private readonly saltBytes: number;
  private readonly keyBytes: number;
  private readonly concurrency: number;
  private active = 0;
  private readonly queue: Array<() => void> = [];
  private dummyHash: Promise<string> | undefined;

  constructor(
    @Optional()
    @Inject(PASSWORD_HASHER_OPTIONS)
    options: PasswordHasherOptions = {},
  ) {
    this.params = {
      logN: options.logN ?? 14,
      blockSize: options.blockSize ?? 8,
      parallelization: options.parallelization ?? 5,
    };
    this.saltBytes = options.saltBytes ?? 16;
    this.keyBytes = options.keyBytes ?? 32;
    this.concurrency = options.concurrency ?? PASSWORD_HASH_CONCURRENCY;
    if (
      !isSupported(this.params) ||
      this.saltBytes < 8 ||
      this.saltBytes > 64
    ) {
      throw new RangeError('PasswordHasher: unsupported scrypt parameters');
    }
    if (this.keyBytes < 16 || this.keyBytes > 128 || this.concurrency < 1) {
      throw new RangeError(
        'PasswordHasher: unsupported key length or concurrency',
      );
    }
  }

  /** Hashes computed right now. */
  get running(): number {
    return this.active;
  }

  /** Hashes waiting for a slot. */
  get queued(): number {
    return this.queue.length;
  }

  /** Computes the dummy hash before the first login needs it. */
  async onModuleInit(): Promise<void> {
    await this.getDummyHash();
  }

  /** Hashes a password with a fresh random salt. */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(this.saltBytes);
    const key = await this.derive(password, salt, this.params, this.keyBytes);
    const { logN, blockSize, parallelization } = this.params;
    return `$scrypt$ln=${logN},r=${blockSize},p=${parallelization}$${b64(salt)}$${b64(key)}`;
  }

  /** Whether the password matches a hash made by {@link hash}; false for a malformed hash. */
  async verify(password: string, stored: string): Promise<boolean> {
    const parsed = parse(stored);
    if (parsed === undefined) {
      return false;
    }
    const key = await this.derive(
      password,
      parsed.salt,
      parsed.params,
      parsed.key.length,
    );
    return timingSafeEqual(key, parsed.key);
  }

  /**
   * Spends the time of a real {@link verify} and resolves to false: used for unknown
   * usernames, so that neither timing nor answer tells which usernames exist.
   */
  async verifyDummy(password: string): Promise<false> {
    await this.verify(password, await this.getDummyHash());
    return false;
  }

  private getDummyHash(): Promise<string> {
    this.dummyHash ??= this.hash(randomBytes(16).toString('base64url'));
    return this.dummyHash;
  }

  private async derive(
    password: string,
    salt: Buffer,
    params: ScryptParams,
    keyBytes: number,
  ): Promise<Buffer> {
    await this.acquire();
    try {
      const cost = 2 ** params.logN;
      return await scryptAsync(password.normalize('NFC'), salt, keyBytes, {
        cost,
        blockSize: params.blockSize,
        parallelization: params.parallelization,
        // scrypt needs about 128 * N * r bytes; Node's default cap is 32 MiB.
        maxmem: 256 * cost * params.blockSize + 1024 * 1024,
      });
    } finally {
      this.release();
    }
  }

  private async acquire(): Promise<void> {
    if (this.active < this.concurrency) {
      this.active += 1;
      return;
    }
    // The releasing hash hands its slot over, so `active` stays the same.
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next === undefined) {
      this.active -= 1;
    } else {
      next();
    }
  }
}

function isSupported({
  logN,
  blockSize,
  parallelization,
}: ScryptParams): boolean {
  return (
    Number.isInteger(logN) &&
    Number.isInteger(blockSize) &&
    Number.isInteger(parallelization) &&
    logN >= 1 &&
    logN <= 20 &&
    blockSize >= 1 &&
    blockSize <= 32 &&
    parallelization >= 1 &&
    parallelization <= 16 &&
    // scrypt's memory: 128 * N * r bytes, at most 256 MiB.
    logN + Math.log2(blockSize) <= 21
  );
}

function parse(
  stored: string,
): { params: ScryptParams; salt: Buffer; key: Buffer } | undefined {
  const match = PHC_SCRYPT.exec(stored);
  if (match === null) {
    return undefined;
  }
  const [, logN, blockSize, parallelization, salt, key] = match;
  const params = {
    logN: Number(logN),
    blockSize: Number(blockSize),
    parallelization: Number(parallelization),
  };
  if (!isSupported(params) || salt === undefined || key === undefined) {
    return undefined;
  }
  return {
    params,
    salt: Buffer.from(salt, 'base64'),
    key: Buffer.from(key, 'base64'),
  };
}

function b64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

function scryptAsync(
  password: string,
  salt: Buffer,
  keyBytes: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyBytes, options, (error, key) => {
      if (error) {
        reject(error);
      } else {
        resolve(key);
      }
    });
  });
}
