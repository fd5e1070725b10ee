/** Usernames: 3-32 of `[A-Za-z0-9_.-]` (PROTOCOL.md). */
export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;

/** Longest accepted username. */
export const USERNAME_MAX_LENGTH = 32;

/** Shortest password accepted at registration. */
export const PASSWORD_MIN_LENGTH = 8;

/** Longest password accepted (longer bodies are refused before any hashing). */
export const PASSWORD_MAX_LENGTH = 128;

/** Failed logins for one username from one IP before further attempts are refused. */
export const LOGIN_MAX_ATTEMPTS = 5;

/** Window in which `LOGIN_MAX_ATTEMPTS` failures lock a username out for an IP (15 minutes). */
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;

/** Password hashes computed at once; the rest wait in a queue. */
export const PASSWORD_HASH_CONCURRENCY = 2;

/** Optional injection token of `PasswordHasherOptions`. */
export const PASSWORD_HASHER_OPTIONS = 'AUTH:PASSWORD_HASHER_OPTIONS';

/** Users seeded at start when `DEMO_USERS` is true. */
export const DEMO_ACCOUNTS: ReadonlyArray<{
  readonly username: string;
  readonly password: string;
}> = [
  { username: 'alice', password: 'wonderland' },
  { username: 'bob', password: 'builder' },
];

/** Human text of each token check failure; also the WebSocket close reasons of PROTOCOL.md. */
export const AUTH_FAILURE_MESSAGES = {
  missing: 'Missing authentication token',
  invalid: 'Invalid authentication token',
  expired: 'Token expired',
  'unknown-user': 'Invalid user',
} as const;

/** Body message of a refused login (PROTOCOL.md). */
export const INVALID_CREDENTIALS_MESSAGE = 'Incorrect username or password';

/** Tokens longer than this are refused without parsing. */
export const MAX_TOKEN_LENGTH = 4096;
