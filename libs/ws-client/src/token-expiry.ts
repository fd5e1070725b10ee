/**
 * The `exp` of a JWT in ms since the epoch, read without verifying the signature (the client only
 * needs to know when to refresh; the server verifies). `undefined` for anything unreadable.
 *
 * @publicApi
 */
export function tokenExpiresAt(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) {
    return undefined;
  }
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='));
    const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    const exp =
      typeof claims === 'object' && claims !== null
        ? (claims as { exp?: unknown }).exp
        : undefined;
    return typeof exp === 'number' && Number.isFinite(exp)
      ? exp * 1000
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How long to wait before refreshing a token that expires at `expiresAt`: `leadMs` before expiry,
 * or half of the remaining time when less than twice `leadMs` remains (a short-lived token is
 * still refreshed well before it lapses). Never negative.
 *
 * @publicApi
 */
export function refreshDelay(
  expiresAt: number,
  now: number,
  leadMs: number,
): number {
  const remaining = expiresAt - now;
  if (remaining <= 0) {
    return 0;
  }
  return Math.floor(
    remaining > 2 * leadMs ? remaining - leadMs : remaining / 2,
  );
}
