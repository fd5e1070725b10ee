import { HttpException, HttpStatus } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { WsError } from '../errors/ws-error.js';
import {
  WsErrorCode,
  type WsErrorCodeValue,
} from '../ws-middleware.constants.js';

/** The client-facing part of an error reply. */
export interface WsErrorPayload {
  code: WsErrorCodeValue;
  message: string;
  details?: Record<string, unknown>;
  /** Whether the error is unexpected and worth logging (never sent). */
  internal?: boolean;
}

const FORBIDDEN_RESOURCE = 'Forbidden resource';

const HTTP_CODES: Partial<Record<number, WsErrorCodeValue>> = {
  [HttpStatus.BAD_REQUEST]: WsErrorCode.BAD_REQUEST,
  [HttpStatus.UNAUTHORIZED]: WsErrorCode.UNAUTHORIZED,
  [HttpStatus.FORBIDDEN]: WsErrorCode.FORBIDDEN,
  [HttpStatus.NOT_FOUND]: WsErrorCode.NOT_FOUND,
  [HttpStatus.TOO_MANY_REQUESTS]: WsErrorCode.RATE_LIMITED,
};

const INTERNAL_PAYLOAD: WsErrorPayload = {
  code: WsErrorCode.INTERNAL,
  message: 'Internal server error',
  internal: true,
};

/**
 * Maps anything a handler, guard or pipe throws to a wire error. Unknown errors become `INTERNAL`
 * with a fixed message: no stack or internal detail reaches the client. Never throws, whatever
 * was thrown (a proxy whose traps throw, an object without a prototype...).
 */
export function toWsErrorPayload(exception: unknown): WsErrorPayload {
  try {
    return mapException(exception);
  } catch {
    return { ...INTERNAL_PAYLOAD };
  }
}

/** What a thrown value looks like in a log line: its stack, or its string form; never throws. */
export function describeException(exception: unknown): string {
  try {
    return exception instanceof Error
      ? (exception.stack ?? String(exception))
      : String(exception);
  } catch {
    return `a thrown ${typeof exception} that cannot be printed`;
  }
}

function mapException(exception: unknown): WsErrorPayload {
  if (exception instanceof WsError) {
    return {
      code: exception.code,
      message: exception.message,
      details: exception.details,
    };
  }
  if (exception instanceof WsException) {
    const error = exception.getError();
    const message = typeof error === 'string' ? error : exception.message;
    if (message === FORBIDDEN_RESOURCE) {
      return { code: WsErrorCode.FORBIDDEN, message };
    }
    return { code: WsErrorCode.BAD_REQUEST, message };
  }
  if (exception instanceof HttpException) {
    const code = HTTP_CODES[exception.getStatus()];
    if (code) {
      return { code, message: exception.message };
    }
  }
  return { ...INTERNAL_PAYLOAD };
}
