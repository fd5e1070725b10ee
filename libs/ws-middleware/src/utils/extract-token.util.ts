import type { IncomingMessage } from 'node:http';

/**
 * The access token of an upgrade request, from the first carrier present, in this order:
 * `Authorization: Bearer <token>`, the subprotocol list `bearer, <token>`, `?token=`.
 * Returns `undefined` when no carrier is present and `''` when the first one present is malformed:
 * a later carrier never replaces it.
 */
export function extractToken(request: IncomingMessage): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const match = /^Bearer +(\S+)\s*$/i.exec(authorization);
    return match ? match[1] : '';
  }
  const protocols = request.headers['sec-websocket-protocol'];
  if (protocols !== undefined) {
    const list = protocols.split(',').map((protocol) => protocol.trim());
    const index = list.findIndex(
      (protocol) => protocol.toLowerCase() === 'bearer',
    );
    if (index !== -1) {
      return list[index + 1] ?? '';
    }
  }
  const url = request.url ?? '';
  const queryStart = url.indexOf('?');
  if (queryStart !== -1) {
    const token = new URLSearchParams(url.slice(queryStart + 1)).get('token');
    if (token !== null) {
      return token;
    }
  }
  return undefined;
}
