import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG } from '../config/app-config.constants.js';
import type { AppConfig } from '../config/app-config.interface.js';

const LOG_EVERY_MS = 10_000;

/**
 * The Redis connections of a cluster node (`REDIS_URL`): one for commands, one for pub/sub.
 * Commands fail fast while Redis is unreachable (no offline queue, a 1 s command timeout), so an
 * outage never builds an unbounded backlog; ioredis reconnects by itself and the engine restores
 * what it owns.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  /** Unique per process: tags this node's publications and presence entries. */
  readonly nodeId = randomUUID();
  readonly prefix: string;
  readonly heartbeatMs: number;
  readonly client: Redis | undefined;
  readonly subscriber: Redis | undefined;
  private lastErrorLog = 0;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.prefix = config.redisPrefix;
    this.heartbeatMs = config.clusterHeartbeatMs;
    if (!config.redisUrl) {
      return;
    }
    const options = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      // A Redis that stops answering without closing the connection fails commands too.
      commandTimeout: 1000,
      retryStrategy: (times: number) => Math.min(100 * times, 2000),
    };
    this.client = new Redis(config.redisUrl, options);
    this.subscriber = new Redis(config.redisUrl, options);
    for (const connection of [this.client, this.subscriber]) {
      connection.on('error', (error: Error) => this.logError(error));
    }
    this.client.on('ready', () => this.logger.log('connected'));
  }

  /** Whether cluster mode is on (`REDIS_URL` set). */
  get enabled(): boolean {
    return this.client !== undefined;
  }

  /** Whether the command connection is usable right now. */
  get isReady(): boolean {
    return this.client?.status === 'ready';
  }

  /** A key (or channel) with this deployment's prefix. */
  key(...parts: string[]): string {
    return `${this.prefix}${parts.join(':')}`;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(
      [this.client, this.subscriber].map(async (connection) => {
        if (!connection) {
          return;
        }
        if (connection.status !== 'ready') {
          connection.disconnect();
          return;
        }
        try {
          await connection.quit();
        } catch {
          connection.disconnect();
        }
      }),
    );
  }

  /** Logs Redis errors at most every 10 s, so an outage does not flood the log. */
  logError(error: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLog >= LOG_EVERY_MS) {
      this.lastErrorLog = now;
      this.logger.error(`Redis unavailable: ${error.message}`);
    }
  }
}
