/** Room names: 1-64 chars of `[A-Za-z0-9_.-]`. */
export const ROOM_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Statuses a user may set; `offline` is derived from having no connection. */
export const SETTABLE_STATUSES = ['online', 'away', 'busy'] as const;

/** A user's status as shown to others. */
export type UserStatus = (typeof SETTABLE_STATUSES)[number] | 'offline';

/** Longest chat text after trimming. */
export const MAX_TEXT_LENGTH = 2000;

/** Name of the throttler that counts chat messages (`message`, `private`). */
export const CHAT_THROTTLER = 'chat';
