import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  HttpException,
  HttpStatus,
  InternalServerErrorException,
  NotFoundException,
  UnauthorizedException,
} from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { WsError } from '../errors/ws-error.js';
import { WsErrorCode } from '../ws-middleware.constants.js';
import {
  describeException,
  toWsErrorPayload,
} from './ws-error-payload.util.js';

const INTERNAL_PAYLOAD = {
  code: WsErrorCode.INTERNAL,
  message: 'Internal server error',
  internal: true,
};

describe(toWsErrorPayload.name, () => {
  describe('WsError', () => {
    it.each([
      [WsError.badRequest('Bad frame'), WsErrorCode.BAD_REQUEST, 'Bad frame'],
      [WsError.unauthorized(), WsErrorCode.UNAUTHORIZED, 'Unauthorized'],
      [WsError.forbidden(), WsErrorCode.FORBIDDEN, 'Forbidden'],
      [WsError.forbidden('Not in room'), WsErrorCode.FORBIDDEN, 'Not in room'],
      [WsError.notFound(), WsErrorCode.NOT_FOUND, 'Not found'],
      [
        new WsError(WsErrorCode.UNKNOWN_EVENT, 'Unknown event'),
        WsErrorCode.UNKNOWN_EVENT,
        'Unknown event',
      ],
    ])('keeps the code and message of %p', (error, code, message) => {
      expect(toWsErrorPayload(error)).toEqual({ code, message, details: {} });
    });

    it('keeps the details of a rate-limit error', () => {
      expect(toWsErrorPayload(WsError.rateLimited(1500))).toEqual({
        code: WsErrorCode.RATE_LIMITED,
        message: 'Rate limit exceeded',
        details: { retryAfterMs: 1500 },
      });
    });

    it('keeps the field errors of a validation error', () => {
      const errors = [{ field: 'text', message: 'text should not be empty' }];

      expect(toWsErrorPayload(WsError.validation(errors))).toEqual({
        code: WsErrorCode.VALIDATION_FAILED,
        message: 'Validation failed',
        details: { errors },
      });
    });
  });

  describe('WsException', () => {
    it("maps Nest's guard refusal 'Forbidden resource' to FORBIDDEN", () => {
      expect(toWsErrorPayload(new WsException('Forbidden resource'))).toEqual({
        code: WsErrorCode.FORBIDDEN,
        message: 'Forbidden resource',
      });
    });

    it('maps any other message to BAD_REQUEST', () => {
      expect(toWsErrorPayload(new WsException('Room name is taken'))).toEqual({
        code: WsErrorCode.BAD_REQUEST,
        message: 'Room name is taken',
      });
    });

    it('reads the message of an object error', () => {
      expect(
        toWsErrorPayload(
          new WsException({ message: 'Room is full', room: 'a' }),
        ),
      ).toEqual({
        code: WsErrorCode.BAD_REQUEST,
        message: 'Room is full',
      });
    });
  });

  describe('HttpException', () => {
    it.each([
      [
        new BadRequestException('Bad input'),
        WsErrorCode.BAD_REQUEST,
        'Bad input',
      ],
      [new UnauthorizedException(), WsErrorCode.UNAUTHORIZED, 'Unauthorized'],
      [new ForbiddenException(), WsErrorCode.FORBIDDEN, 'Forbidden'],
      [
        new NotFoundException('Room not found'),
        WsErrorCode.NOT_FOUND,
        'Room not found',
      ],
      [
        new HttpException('Too many requests', HttpStatus.TOO_MANY_REQUESTS),
        WsErrorCode.RATE_LIMITED,
        'Too many requests',
      ],
    ])('maps %p to its code', (exception, code, message) => {
      expect(toWsErrorPayload(exception)).toEqual({ code, message });
    });

    it.each([
      [new ConflictException('Name taken')],
      [new InternalServerErrorException('Connection pool exhausted')],
    ])(
      'maps the unmapped status of %p to INTERNAL without its message',
      (exception) => {
        expect(toWsErrorPayload(exception)).toEqual(INTERNAL_PAYLOAD);
      },
    );
  });

  describe('anything else', () => {
    it('maps a plain Error to INTERNAL with the fixed message and no original detail', () => {
      const error = new Error('password authentication failed for user "chat"');
      const payload = toWsErrorPayload(error);

      expect(payload).toEqual(INTERNAL_PAYLOAD);
      expect(JSON.stringify(payload)).not.toContain('password');
      expect(payload).not.toHaveProperty('details');
    });

    it.each([
      [new TypeError('x is undefined')],
      ['a string'],
      [undefined],
      [null],
      [{ code: 'FORBIDDEN' }],
    ])('maps %p to INTERNAL', (thrown) => {
      expect(toWsErrorPayload(thrown)).toEqual(INTERNAL_PAYLOAD);
    });
  });

  describe('hostile thrown values', () => {
    const hostile: [string, unknown][] = [
      ['an object without a prototype', Object.create(null)],
      [
        'a proxy whose traps throw',
        new Proxy(
          {},
          {
            getPrototypeOf() {
              throw new Error('trap');
            },
            get() {
              throw new Error('trap');
            },
          },
        ),
      ],
    ];

    it.each(hostile)(
      'maps %s to INTERNAL without throwing',
      (_case, thrown) => {
        expect(toWsErrorPayload(thrown)).toEqual(INTERNAL_PAYLOAD);
      },
    );

    it.each(hostile)('describes %s without throwing', (_case, thrown) => {
      expect(typeof describeException(thrown)).toBe('string');
    });

    it('describes an Error by its stack and anything else by its string form', () => {
      const error = new Error('boom');
      expect(describeException(error)).toBe(error.stack);
      expect(describeException('text')).toBe('text');
      expect(describeException(Symbol('s'))).toBe('Symbol(s)');
    });
  });
});
