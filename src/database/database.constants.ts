/** Prefix of the PostgreSQL advisory-lock keys (combined with the current schema). */
export const PG_LOCK_PREFIX = 'ws-chat:';

/** Advisory lock held while one node runs the migrations. */
export const PG_MIGRATIONS_LOCK = `${PG_LOCK_PREFIX}migrations:`;

/** Advisory lock that makes message ids commit in increasing order across nodes. */
export const PG_MESSAGES_LOCK = `${PG_LOCK_PREFIX}messages:`;

/** Default number of messages `HistoryService` returns. */
export const HISTORY_DEFAULT_LIMIT = 50;

/** Largest number of messages `HistoryService` returns at once. */
export const HISTORY_MAX_LIMIT = 100;
