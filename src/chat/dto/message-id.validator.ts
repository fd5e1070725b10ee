import { ValidateBy, type ValidationOptions } from 'class-validator';

/** A decimal integer without leading zeros, as the server hands message ids out. */
const MESSAGE_ID = /^(0|[1-9][0-9]{0,18})$/;

/** Largest message id: a PostgreSQL `bigint`. */
const MAX_MESSAGE_ID = 2n ** 63n - 1n;

/**
 * A message id as a history cursor: the decimal string of an integer from 0 to 2^63 - 1, with no
 * leading zero (what `HistoryService` accepts, so a cursor it would refuse is a
 * `VALIDATION_FAILED`, never an `INTERNAL`).
 */
export function IsMessageId(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isMessageId',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' &&
          MESSAGE_ID.test(value) &&
          BigInt(value) <= MAX_MESSAGE_ID,
        defaultMessage: (args) =>
          `${args?.property ?? 'value'} must be a message id`,
      },
    },
    options,
  );
}
