import { Injectable } from '@nestjs/common';
import {
  HealthIndicatorService,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import { RedisService } from './redis.service.js';

const PING_TIMEOUT_MS = 1000;

/** `GET /health` entry for Redis (cluster mode only): a PING within a second. */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly redis: RedisService,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async isHealthy(): Promise<HealthIndicatorResult> {
    const session = this.indicators.check('redis');
    const client = this.redis.client;
    if (!client) {
      return session.up({ mode: 'single-node' });
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error('timeout')),
            PING_TIMEOUT_MS,
          );
        }),
      ]);
      return session.up();
    } catch (error) {
      return session.down({ message: (error as Error).message });
    } finally {
      clearTimeout(timer);
    }
  }
}
