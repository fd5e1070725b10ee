import type { IncomingMessage } from 'node:http';

/**
 * The client IP of a request: the socket's peer address, or, when `trustProxy` allows, the
 * address that many hops back in `X-Forwarded-For` (`true` = the left-most one).
 */
export function clientIp(
  request: IncomingMessage,
  trustProxy: boolean | number,
): string {
  const peer = request.socket.remoteAddress ?? 'unknown';
  if (trustProxy === false || trustProxy === 0) {
    return normalize(peer);
  }
  const header = request.headers['x-forwarded-for'];
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value) {
    return normalize(peer);
  }
  const hops = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
  if (hops.length === 0) {
    return normalize(peer);
  }
  if (trustProxy === true) {
    return normalize(hops[0]);
  }
  return normalize(hops[Math.max(0, hops.length - trustProxy)]);
}

function normalize(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
