import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { DataSource } from 'typeorm';

/** The built server a user runs: `npm run build` must have run (`.ci/run` does). */
export const MAIN = resolve(process.cwd(), 'dist/src/main.js');
export const SECRET = 'cluster-secret-0123456789-0123456789-01234';
export const BASE_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        resolvePort(typeof address === 'object' && address ? address.port : 0),
      );
    });
  });
}

/** Polls `check` every 50 ms until it resolves true, failing after `timeoutMs` with `what`. */
export async function eventually(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) {
        return;
      }
    } catch {
      // not yet
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolveTick) => setTimeout(resolveTick, 50));
  }
}

/** A per-run PostgreSQL schema, dropped by `drop()`. */
export class TestSchema {
  readonly name = `chat_cluster_${process.pid}_${randomBytes(4).toString('hex')}`;
  private admin: DataSource | undefined;

  get url(): string {
    const url = new URL(BASE_DATABASE_URL);
    url.searchParams.set('options', `-c search_path=${this.name}`);
    return url.toString();
  }

  async create(): Promise<void> {
    this.admin = await new DataSource({
      type: 'postgres',
      url: BASE_DATABASE_URL,
    }).initialize();
    await this.admin.query(`CREATE SCHEMA "${this.name}"`);
  }

  async drop(): Promise<void> {
    await this.admin?.query(`DROP SCHEMA IF EXISTS "${this.name}" CASCADE`);
    await this.admin?.destroy();
  }
}

/** One server process of the cluster. */
export class ChatNode {
  private child: ChildProcess | undefined;
  output = '';

  constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get http(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  url(path = '/ws'): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  /** Starts `node dist/src/main.js` and waits until `/health` answers 200. */
  async start(): Promise<void> {
    if (!existsSync(MAIN)) {
      throw new Error(`${MAIN} is missing: run npm run build first`);
    }
    this.output = '';
    this.child = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        ...this.env,
        PORT: String(this.port),
        NODE_ENV: 'test',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on(
      'data',
      (chunk: Buffer) => (this.output += chunk.toString()),
    );
    this.child.stderr?.on(
      'data',
      (chunk: Buffer) => (this.output += chunk.toString()),
    );
    const child = this.child;
    await eventually(
      async () => {
        if (child.exitCode !== null) {
          throw new Error(`node on port ${this.port} exited: ${this.output}`);
        }
        return (await fetch(`${this.http}/health`)).status === 200;
      },
      `node on port ${this.port} to be healthy`,
      30_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${this.output.slice(-2000)}`);
    });
  }

  /** `POST /token` (form) for a user; registers it first when `register` is set. */
  async token(
    username: string,
    password: string,
    register = false,
  ): Promise<string> {
    if (register) {
      await fetch(`${this.http}/auth/register`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
    }
    const response = await fetch(`${this.http}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username, password }).toString(),
    });
    if (response.status !== 200) {
      throw new Error(`login of ${username} failed: ${response.status}`);
    }
    return ((await response.json()) as { access_token: string }).access_token;
  }

  /** SIGTERM, and wait for the exit. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** SIGKILL, and wait for the exit. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    const exited = new Promise<void>((resolveExit) =>
      child.once('exit', () => resolveExit()),
    );
    child.kill(signal);
    await exited;
  }
}

/** A `redis-server` of the test's own, on a free port, that a spec may stop and restart. */
export class OwnRedis {
  private child: ChildProcess | undefined;

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    );
    await eventually(async () => {
      const { Redis } = await import('ioredis');
      const probe = new Redis(this.url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
      });
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } finally {
        probe.disconnect();
      }
    }, `redis-server on port ${this.port}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    // A killed process has a signalCode and no exitCode: stopping it twice must not wait forever.
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    const exited = new Promise<void>((resolveExit) =>
      child.once('exit', () => resolveExit()),
    );
    child.kill('SIGKILL');
    await exited;
  }
}
