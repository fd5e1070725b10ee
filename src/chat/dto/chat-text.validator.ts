import { ValidateBy, type ValidationOptions } from 'class-validator';
import { MAX_TEXT_LENGTH } from '../chat.constants.js';

/**
 * An unpaired UTF-16 surrogate: UTF-8 storage turns it into U+FFFD, so history would differ from
 * what was delivered live.
 */
const UNPAIRED_SURROGATE = /\p{Surrogate}/u;

/**
 * Whether the database stores `text` byte for byte: no NUL (PostgreSQL `text` refuses it, so the
 * same message would be stored on SQLite and fail on PostgreSQL) and no unpaired surrogate.
 */
function isStorable(text: string): boolean {
  return !text.includes('\u0000') && !UNPAIRED_SURROGATE.test(text);
}

/**
 * Chat text: a string of 1-2000 characters once leading and trailing white space is trimmed, that
 * the database stores byte for byte (no NUL, no unpaired surrogate).
 */
export function IsChatText(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isChatText',
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'string') {
            return false;
          }
          const length = value.trim().length;
          return length >= 1 && length <= MAX_TEXT_LENGTH && isStorable(value);
        },
        defaultMessage: () =>
          `text must be a string of 1-${MAX_TEXT_LENGTH} characters after trimming, without NUL or unpaired surrogates`,
      },
    },
    options,
  );
}
