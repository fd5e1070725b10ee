/**
 * Thrown by a connection middleware to refuse a connection: the socket is closed with `code` and `reason`.
 *
 * @publicApi
 * @example throw new WsConnectionRefusedError(1008, 'Invalid room');
 */
export class WsConnectionRefusedError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`Connection refused (${code}): ${reason}`);
  }
}
