import type { ChatErrorCode, ExceptionData } from './chat-protocol.types.js';

/**
 * Codes the client adds to the server's: `TIMEOUT` (no reply in time), `DISCONNECTED` (the
 * connection was lost before the reply; the request may or may not have been handled), `CLOSED`
 * (the client was closed, or stopped after a refusal), `REFUSED` (the server closed the connection
 * with a code after which the client does not reconnect; see `closeCode` and `closeReason`).
 *
 * @publicApi
 */
export type ChatClientErrorCode =
  ChatErrorCode | 'TIMEOUT' | 'DISCONNECTED' | 'CLOSED' | 'REFUSED';

/** Everything a {@link ChatClientError} may carry besides its code and message. @publicApi */
export interface ChatClientErrorDetails {
  /** The request event that failed, if any. */
  event?: string;
  /** Field errors of `VALIDATION_FAILED`. */
  errors?: { field: string; message: string }[];
  /** When to retry after `RATE_LIMITED`, in milliseconds. */
  retryAfterMs?: number;
  /** Close code of `REFUSED` (and of `DISCONNECTED` when known). */
  closeCode?: number;
  /** Close reason of `REFUSED` (and of `DISCONNECTED` when known). */
  closeReason?: string;
}

/**
 * Why a request (or the connection) failed: an `exception` reply of the server, or a condition of
 * the client. Test it with `error instanceof ChatClientError` and switch on `error.code`.
 *
 * @example
 * try {
 *   await client.request('message', { room: 'general', text });
 * } catch (error) {
 *   if (error instanceof ChatClientError && error.code === 'RATE_LIMITED') {
 *     showBanner(`Slow down: retry in ${Math.ceil((error.retryAfterMs ?? 0) / 1000)} s`);
 *   }
 * }
 *
 * @publicApi
 */
export class ChatClientError extends Error {
  readonly code: ChatClientErrorCode | (string & {});
  readonly event: string | undefined;
  readonly errors: { field: string; message: string }[] | undefined;
  readonly retryAfterMs: number | undefined;
  readonly closeCode: number | undefined;
  readonly closeReason: string | undefined;

  constructor(
    code: ChatClientErrorCode | (string & {}),
    message: string,
    details: ChatClientErrorDetails = {},
  ) {
    super(message);
    this.name = 'ChatClientError';
    this.code = code;
    this.event = details.event;
    this.errors = details.errors;
    this.retryAfterMs = details.retryAfterMs;
    this.closeCode = details.closeCode;
    this.closeReason = details.closeReason;
  }

  /** The error of an `exception` reply's `data` (tolerant of missing fields). */
  static fromException(data: unknown, event?: string): ChatClientError {
    const payload = (
      typeof data === 'object' && data !== null ? data : {}
    ) as Partial<ExceptionData>;
    return new ChatClientError(
      typeof payload.code === 'string' ? payload.code : 'INTERNAL',
      typeof payload.message === 'string' ? payload.message : 'Request failed',
      {
        event: typeof payload.event === 'string' ? payload.event : event,
        errors: Array.isArray(payload.errors) ? payload.errors : undefined,
        retryAfterMs:
          typeof payload.retryAfterMs === 'number'
            ? payload.retryAfterMs
            : undefined,
      },
    );
  }
}
