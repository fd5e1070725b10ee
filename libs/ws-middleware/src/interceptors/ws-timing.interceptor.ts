import {
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { finalize, type Observable } from 'rxjs';
import { WsMetricsService } from '../services/ws-metrics.service.js';

/**
 * Records a handler's duration in `ws_handler_duration_seconds`. The adapter already times every
 * request (cheaper); use this only to time a handler on its own, without guards and pipes.
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
          this.metrics.handlerDone(event, (performance.now() - started) / 1000),
        ),
      );
  }
}
