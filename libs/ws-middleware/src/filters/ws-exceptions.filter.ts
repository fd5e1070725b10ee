import {
  Catch,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { connectionOf } from '../adapters/ws-connection.js';

/**
 * Turns whatever a guard, pipe, interceptor or handler throws into the wire error reply
 * (`{"event": "exception", "id", "data": {"status": "error", "code", "message", "event"}}`), sent
 * by the adapter as the one reply of the request. Unknown errors become `INTERNAL`, logged, with
 * nothing internal sent.
 *
 * @publicApi
 */
@Catch()
export class WsExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const ws = host.switchToWs();
    const connection = connectionOf(ws.getClient());
    if (!connection) {
      return;
    }
    if (!connection.fail(exception)) {
      connection.sendError(exception, ws.getPattern());
    }
  }
}
