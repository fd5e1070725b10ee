import type { Type } from '@nestjs/common';
import fc from 'fast-check';
import { WsError, WsErrorCode, WsValidationPipe } from '@app/ws-middleware';
import {
  MAX_TEXT_LENGTH,
  ROOM_PATTERN,
  SETTABLE_STATUSES,
} from '../../src/chat/chat.constants.js';
import { EmptyDto } from '../../src/chat/dto/empty.dto.js';
import { HistoryQueryDto } from '../../src/chat/dto/history-query.dto.js';
import { PrivateMessageDto } from '../../src/chat/dto/private-message.dto.js';
import { RoomMessageDto } from '../../src/chat/dto/room-message.dto.js';
import { RoomDto } from '../../src/chat/dto/room.dto.js';
import { StatusDto } from '../../src/chat/dto/status.dto.js';

const codeUnit = fc
  .integer({ min: 0, max: 0xffff })
  .map((code) => String.fromCharCode(code));
const anyValue = fc.anything({
  key: fc.oneof(
    fc.constantFrom('__proto__', 'constructor', 'room', 'text', 'to'),
    fc.string(),
  ),
  maxDepth: 4,
});
const validRoom = fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/);
const room = fc.oneof(
  validRoom,
  fc.string({ unit: codeUnit, maxLength: 80 }),
  anyValue,
);
const text = fc.oneof(
  fc.string({ minLength: 1, maxLength: 50 }),
  fc.string({ unit: codeUnit, maxLength: 50 }),
  fc.constantFrom(' ', 'x'.repeat(MAX_TEXT_LENGTH + 1), ' a ', 'a\u0000'),
  anyValue,
);
const messageId = fc.oneof(
  fc.nat().map(String),
  fc.nat(),
  fc.string({ maxLength: 25 }),
  fc.double(),
  anyValue,
);

/** `JSON.parse` of the value with an own `__proto__` key added, as a hostile frame arrives. */
const withOwnProto = (value: Record<string, unknown>, proto: unknown) =>
  JSON.parse(
    `{"__proto__": ${JSON.stringify(proto) ?? 'null'}, ${JSON.stringify(value).slice(1)}`.replace(
      ', }',
      '}',
    ),
  ) as unknown;

const isChatText = (value: unknown): boolean =>
  typeof value === 'string' &&
  value.trim().length >= 1 &&
  value.trim().length <= MAX_TEXT_LENGTH &&
  !value.includes('\u0000') &&
  !/\p{Surrogate}/u.test(value);

/** Every DTO with an arbitrary of its data (valid and invalid mixed) and what a valid one holds. */
const CASES: {
  dto: Type<object>;
  data: fc.Arbitrary<unknown>;
  valid: (value: Record<string, unknown>) => boolean;
}[] = [
  {
    dto: RoomDto,
    data: fc.record({ room, extra: anyValue }, { requiredKeys: [] }),
    valid: (v) => typeof v.room === 'string' && ROOM_PATTERN.test(v.room),
  },
  {
    dto: RoomMessageDto,
    data: fc.record({ room, text, extra: anyValue }, { requiredKeys: [] }),
    valid: (v) =>
      typeof v.room === 'string' &&
      ROOM_PATTERN.test(v.room) &&
      isChatText(v.text),
  },
  {
    dto: PrivateMessageDto,
    data: fc.record({ to: room, text }, { requiredKeys: [] }),
    valid: (v) =>
      typeof v.to === 'string' &&
      v.to.length >= 1 &&
      v.to.length <= 64 &&
      isChatText(v.text),
  },
  {
    dto: HistoryQueryDto,
    data: fc.record(
      {
        room,
        with: room,
        after: messageId,
        before: messageId,
        limit: fc.oneof(fc.integer({ min: -5, max: 120 }), anyValue),
      },
      { requiredKeys: [] },
    ),
    valid: (v) =>
      (v.room === undefined ||
        (typeof v.room === 'string' && ROOM_PATTERN.test(v.room))) &&
      (v.with === undefined ||
        (typeof v.with === 'string' &&
          v.with.length >= 1 &&
          v.with.length <= 64)) &&
      [v.after, v.before].every(
        (id) =>
          id === undefined ||
          (typeof id === 'string' && /^[0-9]{1,19}$/.test(id)),
      ) &&
      (v.limit === undefined ||
        (Number.isInteger(v.limit) &&
          (v.limit as number) >= 1 &&
          (v.limit as number) <= 100)),
  },
  {
    dto: StatusDto,
    data: fc.record(
      {
        status: fc.oneof(
          fc.constantFrom(...SETTABLE_STATUSES, 'offline', 'ONLINE'),
          anyValue,
        ),
      },
      { requiredKeys: [] },
    ),
    valid: (v) => (SETTABLE_STATUSES as readonly unknown[]).includes(v.status),
  },
  { dto: EmptyDto, data: anyValue, valid: () => true },
];

/**
 * The chat's DTOs behind `WsValidationPipe`: any data yields either a DTO instance that holds
 * exactly what the schema allows (whitelisted, nothing inherited) or VALIDATION_FAILED with field
 * errors; the pipe never throws anything else.
 */
describe('Chat DTO validation (property-based)', () => {
  const pipe = new WsValidationPipe();

  it.each(CASES.map((c) => [c.dto.name, c] as const))(
    '%s: any data is a valid DTO or VALIDATION_FAILED, never another error',
    async (_name, { dto, data, valid }) => {
      const outcomes = new Set<string>();
      const input = fc.oneof(
        data,
        fc
          .tuple(data, anyValue)
          .filter(
            ([value]) =>
              typeof value === 'object' &&
              value !== null &&
              !Array.isArray(value),
          )
          .map(([value, proto]) =>
            withOwnProto(value as Record<string, unknown>, proto),
          ),
        anyValue,
      );
      await fc.assert(
        fc.asyncProperty(input, async (value) => {
          let result: unknown;
          try {
            result = await pipe.transform(value, {
              type: 'body',
              metatype: dto,
            });
          } catch (error) {
            if (!(error instanceof WsError)) {
              throw new Error(`the pipe threw a non-WsError: ${String(error)}`);
            }
            expect(error.code).toBe(WsErrorCode.VALIDATION_FAILED);
            const errors = error.details.errors as unknown[];
            expect(errors.length).toBeGreaterThan(0);
            for (const fieldError of errors) {
              expect(fieldError).toEqual({
                field: expect.any(String),
                message: expect.any(String),
              });
            }
            outcomes.add('VALIDATION_FAILED');
            return;
          }
          expect(result).toBeInstanceOf(dto);
          const own = result as Record<string, unknown>;
          expect(valid(own)).toBe(true);
          expect(Object.getPrototypeOf(own)).toBe(dto.prototype);
          expect(Object.hasOwn(own, '__proto__')).toBe(false);
          expect(Object.hasOwn(own, 'extra')).toBe(false);
          outcomes.add('valid');
        }),
        { numRuns: 300 },
      );
      expect(outcomes.has('valid')).toBe(true);
      if (dto !== EmptyDto) {
        expect(outcomes.has('VALIDATION_FAILED')).toBe(true);
      }
    },
  );
});
