/** Close code the client uses for a connection it gave up on itself (no pong, no welcome). */
export const CLIENT_TIMEOUT_CLOSE_CODE = 4000;

/** The 1008 reasons of PROTOCOL.md after which the client does not reconnect by itself. */
export const FINAL_POLICY_REASONS: readonly string[] = [
  'Missing authentication token',
  'Invalid authentication token',
  'Token expired',
  'Invalid user',
  'Too many connections',
  'Rate limit exceeded',
  'Invalid room',
];

/** Whether the client should reconnect after a close, and why (for logs and UIs). @publicApi */
export interface ReconnectDecision {
  reconnect: boolean;
  /** `auth` for the four authentication refusals, else a short word. */
  reason:
    'auth' | 'policy' | 'normal' | 'client-error' | 'transient' | 'unknown';
}

const AUTH_REASONS = new Set(FINAL_POLICY_REASONS.slice(0, 4));

/**
 * Which server closes end the session and which are worth a reconnect with backoff.
 *
 * Never reconnects after:
 * - `1008` with any reason but "Slow consumer": the four authentication refusals (a new token is
 *   needed: reconnecting with the same one would only be refused again), "Too many connections"
 *   (retrying would keep taking a slot from the user's other tabs), "Rate limit exceeded" and
 *   "Invalid room" (the server told this client to stop), and any policy reason it does not know;
 * - `1000` sent by the server (it ended the session on purpose, like Socket.IO's
 *   "io server disconnect");
 * - `1003`, `1007`, `1009`: this client sent a frame the server cannot take; the same client would
 *   send it again.
 *
 * Reconnects after everything else: `1001` "Server shutting down", `1006` (connection lost,
 * refused, or dropped by the heartbeat), `1005`, `1011`, `1012`, `1013` "Server overloaded",
 * `1014`, `1008` "Slow consumer" (the backlog is gone with the old socket and the client recovers
 * what it missed), the client's own `4000` (no pong, no welcome), and unknown codes.
 *
 * @publicApi
 */
export function reconnectDecision(
  code: number,
  reason: string,
): ReconnectDecision {
  if (code === 1008) {
    if (reason === 'Slow consumer') {
      return { reconnect: true, reason: 'transient' };
    }
    return {
      reconnect: false,
      reason: AUTH_REASONS.has(reason) ? 'auth' : 'policy',
    };
  }
  if (code === 1000) {
    return { reconnect: false, reason: 'normal' };
  }
  if (code === 1003 || code === 1007 || code === 1009) {
    return { reconnect: false, reason: 'client-error' };
  }
  if (
    code === 1001 ||
    code === 1005 ||
    code === 1006 ||
    (code >= 1011 && code <= 1014) ||
    code === CLIENT_TIMEOUT_CLOSE_CODE
  ) {
    return { reconnect: true, reason: 'transient' };
  }
  return { reconnect: true, reason: 'unknown' };
}
