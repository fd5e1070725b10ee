import {
  Injectable,
  Logger,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { tap, type Observable } from 'rxjs';
import { getWsConnection } from '../adapters/ws-connection.js';

/**
 * Logs each handled message (connection id, user, event, outcome, duration) at `log` level. The
 * adapter already logs every message at `debug` level at no interceptor cost; this is for
 * gateways that want a handler's own line at `log` level.
 *
 * @publicApi
 */
@Injectable()
export class WsLoggingInterceptor implements NestInterceptor {
  private readonly logger = new Logger('WsMessages');

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const started = performance.now();
    const ws = context.switchToWs();
    const connection = getWsConnection(ws.getClient());
    const prefix = `id=${connection?.id ?? '-'} user=${connection?.user?.id ?? '-'} event=${ws.getPattern()}`;
    const line = (outcome: string): string =>
      `${prefix} outcome=${outcome} duration=${(performance.now() - started).toFixed(3)}ms`;
    return next.handle().pipe(
      tap({
        complete: () => this.logger.log(line('ok')),
        error: () => this.logger.log(line('error')),
      }),
    );
  }
}
