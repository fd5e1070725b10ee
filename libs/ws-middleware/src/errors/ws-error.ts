import { WsException } from '@nestjs/websockets';
import {
  WsErrorCode,
  type WsErrorCodeValue,
} from '../ws-middleware.constants.js';

/** One field error of a `VALIDATION_FAILED` reply. */
export interface WsFieldError {
  field: string;
  message: string;
}

/**
 * A client-facing error: becomes `{"event": "exception", "data": {"status": "error", "code", "message", ...details}}`.
 *
 * @publicApi
 * @example throw WsError.forbidden('You have not joined this room');
 */
export class WsError extends WsException {
  constructor(
    readonly code: WsErrorCodeValue,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  static badRequest(message: string): WsError {
    return new WsError(WsErrorCode.BAD_REQUEST, message);
  }

  static unauthorized(message = 'Unauthorized'): WsError {
    return new WsError(WsErrorCode.UNAUTHORIZED, message);
  }

  static forbidden(message = 'Forbidden'): WsError {
    return new WsError(WsErrorCode.FORBIDDEN, message);
  }

  static notFound(message = 'Not found'): WsError {
    return new WsError(WsErrorCode.NOT_FOUND, message);
  }

  static rateLimited(retryAfterMs: number): WsError {
    return new WsError(WsErrorCode.RATE_LIMITED, 'Rate limit exceeded', {
      retryAfterMs,
    });
  }

  static validation(errors: WsFieldError[]): WsError {
    return new WsError(WsErrorCode.VALIDATION_FAILED, 'Validation failed', {
      errors,
    });
  }
}
