import { Inject, Injectable } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { IncomingMessage } from 'node:http';
import { clientIp } from '../utils/client-ip.util.js';
import type { ResolvedWsMiddlewareOptions } from '../utils/resolve-options.util.js';
import { WS_RESOLVED_OPTIONS } from '../utils/resolved-options.token.js';
import { WS_HANDSHAKE_STORAGE } from '../ws-middleware.constants.js';
import { WsMetricsService } from './ws-metrics.service.js';

/** An HTTP refusal of an upgrade. */
export interface WsUpgradeRefusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

const MINUTE_MS = 60_000;

/**
 * Step 1 of the connection pipeline, at the HTTP upgrade and before any WebSocket work: the
 * `Origin` allow-list (403) and the per-IP handshake rate (429 with `Retry-After`).
 *
 * @publicApi
 */
@Injectable()
export class WsUpgradePolicy {
  constructor(
    @Inject(WS_RESOLVED_OPTIONS)
    private readonly options: ResolvedWsMiddlewareOptions,
    @Inject(WS_HANDSHAKE_STORAGE) private readonly storage: ThrottlerStorage,
    private readonly metrics: WsMetricsService,
  ) {}

  /** `undefined` to let the upgrade through, else the HTTP refusal to send. */
  async check(request: IncomingMessage): Promise<WsUpgradeRefusal | undefined> {
    if (!this.originAllowed(request)) {
      this.metrics.connectionResult('forbidden_origin');
      return { status: 403, message: 'Forbidden' };
    }
    const limit = this.options.connectRateLimit;
    if (limit > 0) {
      const ip = clientIp(request, this.options.trustProxy);
      const record = await this.storage.increment(
        `ws-handshake:${ip}`,
        MINUTE_MS,
        limit,
        MINUTE_MS,
        'ws-handshake',
      );
      if (record.isBlocked) {
        this.metrics.connectionResult('rate_limited');
        return {
          status: 429,
          message: 'Too Many Requests',
          headers: {
            'Retry-After': String(Math.max(1, record.timeToBlockExpire)),
          },
        };
      }
    }
    return undefined;
  }

  private originAllowed(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    if (origin === undefined) {
      return true;
    }
    const allowed = this.options.allowedOrigins;
    if (allowed === 'any') {
      return true;
    }
    const host = request.headers.host;
    const encrypted =
      (request.socket as { encrypted?: boolean }).encrypted === true;
    if (host && origin === `${encrypted ? 'https' : 'http'}://${host}`) {
      return true;
    }
    return allowed !== 'same-origin' && allowed.has(origin);
  }
}
