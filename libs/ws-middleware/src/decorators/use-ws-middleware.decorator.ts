import {
  applyDecorators,
  UseFilters,
  UseGuards,
  UsePipes,
  type CanActivate,
  type Type,
} from '@nestjs/common';
import { WsExceptionsFilter } from '../filters/ws-exceptions.filter.js';
import { WsAuthGuard } from '../guards/ws-auth.guard.js';
import { WsThrottlerGuard } from '../guards/ws-throttler.guard.js';
import { WsValidationPipe } from '../pipes/ws-validation.pipe.js';

/** What `@UseWsMiddleware()` applies. */
export interface UseWsMiddlewareOptions {
  /** Apply `WsThrottlerGuard` (needs `ThrottlerModule` imported). Default true. */
  throttle?: boolean;
  /** Extra guards, run after auth and throttling. */
  guards?: (Type<CanActivate> | CanActivate)[];
}

/**
 * The whole message-time stack on a gateway in one line, since global enhancers do not reach
 * gateways: `WsExceptionsFilter`, `WsAuthGuard`, `WsThrottlerGuard`, `WsValidationPipe`. Logging
 * and timing are done by the adapter at no extra per-message cost; `WsLoggingInterceptor` and
 * `WsTimingInterceptor` exist for gateways that want them per handler.
 *
 * @publicApi
 * @example @UseWsMiddleware() @WebSocketGateway({ path: '/ws' }) export class ChatGateway {}
 */
export function UseWsMiddleware(
  options: UseWsMiddlewareOptions = {},
): ClassDecorator {
  const guards: (Type<CanActivate> | CanActivate)[] = [WsAuthGuard];
  if (options.throttle ?? true) {
    guards.push(WsThrottlerGuard);
  }
  guards.push(...(options.guards ?? []));
  return applyDecorators(
    UseFilters(WsExceptionsFilter),
    UseGuards(...guards),
    UsePipes(new WsValidationPipe()),
  );
}
