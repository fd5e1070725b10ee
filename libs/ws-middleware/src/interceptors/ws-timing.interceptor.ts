import {
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { finalize, type Observable } from 'rxjs';
import { WsMetricsService } from '../services/ws-metrics.service.js';

/**
 * Records the time spent inside it (the pipes and the handler; guards run before interceptors) in
 * `ws_handler_execution_seconds`.
 * The adapter already times every request from dispatch to reply in
 * `ws_handler_duration_seconds` (at no interceptor cost); this one is for a closer look.
 *
 * @publicApi
 */
@Injectable()
export class WsTimingInterceptor implements NestInterceptor {
  constructor(private readonly metrics: WsMetricsService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const started = performance.now();
    const event = context.switchToWs().getPattern();
    return next
      .handle()
      .pipe(
        finalize(() =>
          this.metrics.handlerExecuted(
            event,
            (performance.now() - started) / 1000,
          ),
        ),
      );
  }
}
