import { ValidateBy, type ValidationOptions } from 'class-validator';
import { MAX_TEXT_LENGTH } from '../chat.constants.js';

/** Chat text: a string of 1-2000 characters once leading and trailing white space is trimmed. */
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
          return length >= 1 && length <= MAX_TEXT_LENGTH;
        },
        defaultMessage: () =>
          `text must be a string of 1-${MAX_TEXT_LENGTH} characters after trimming`,
      },
    },
    options,
  );
}
