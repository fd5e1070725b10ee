import { Injectable, type ExecutionContext } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import { getWsConnection } from '../adapters/ws-connection.js';
import { WsError } from '../errors/ws-error.js';

/**
 * `@nestjs/throttler` for WebSocket messages, extended through its protected hooks: keyed by the
 * connection's user (its IP before authentication), one budget per named throttler and user shared
 * by every handler it guards, `@Throttle()` / `@SkipThrottle()` honoured, any `ThrottlerStorage`.
 * Over the limit it throws `RATE_LIMITED` with `retryAfterMs`.
 *
 * @publicApi
 */
@Injectable()
export class WsThrottlerGuard extends ThrottlerGuard {
  protected getRequestResponse(context: ExecutionContext): {
    req: Record<string, unknown>;
    res: Record<string, unknown>;
  } {
    const connection = getWsConnection(context.switchToWs().getClient());
    return {
      req: { ip: connection?.ip, user: connection?.user, headers: {} },
      res: {},
    };
  }

  protected getTracker(req: Record<string, unknown>): Promise<string> {
    const user = req.user as { id?: string } | undefined;
    return Promise.resolve(
      user?.id ? `user:${user.id}` : `ip:${String(req.ip)}`,
    );
  }

  protected generateKey(
    _context: ExecutionContext,
    tracker: string,
    throttlerName: string,
  ): string {
    return `ws:${throttlerName}:${tracker}`;
  }

  protected throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const seconds = detail.isBlocked
      ? detail.timeToBlockExpire
      : detail.timeToExpire;
    throw WsError.rateLimited(Math.max(1, seconds) * 1000);
  }
}
