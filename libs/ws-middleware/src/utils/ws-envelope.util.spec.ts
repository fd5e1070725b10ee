import { WsError } from '../errors/ws-error.js';
import { WsErrorCode } from '../ws-middleware.constants.js';
import {
  echoableEvent,
  echoableId,
  exceedsDepth,
  frameOf,
  parseEnvelope,
} from './ws-envelope.util.js';

/** The `WsError` thrown by `parseEnvelope(text)`. */
function parseError(text: string): WsError {
  let thrown: unknown;
  try {
    parseEnvelope(text);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(WsError);
  return thrown as WsError;
}

describe(parseEnvelope.name, () => {
  describe('valid frames', () => {
    it('returns event, data and id', () => {
      expect(
        parseEnvelope('{"event":"message","data":{"text":"hi"},"id":"r1"}'),
      ).toEqual({
        event: 'message',
        data: { text: 'hi' },
        id: 'r1',
      });
    });

    it('accepts a numeric id', () => {
      expect(parseEnvelope('{"event":"ping","id":7}').id).toBe(7);
    });

    it('leaves data and id undefined when absent', () => {
      expect(parseEnvelope('{"event":"ping"}')).toEqual({
        event: 'ping',
        data: undefined,
        id: undefined,
      });
    });

    it.each([
      ['null', null],
      ['0', 0],
      ['"text"', 'text'],
      ['[1,2]', [1, 2]],
    ])('passes data %s through as is', (json, data) => {
      expect(parseEnvelope(`{"event":"e","data":${json}}`).data).toEqual(data);
    });

    it('accepts an id of exactly 64 characters and an event of exactly 128', () => {
      const id = 'i'.repeat(64);
      const event = 'e'.repeat(128);

      expect(parseEnvelope(JSON.stringify({ event, id }))).toEqual({
        event,
        id,
        data: undefined,
      });
    });

    it('treats "__proto__" as an ordinary event name', () => {
      expect(parseEnvelope('{"event":"__proto__","data":1}')).toEqual({
        event: '__proto__',
        data: 1,
        id: undefined,
      });
    });

    it('does not pollute Object.prototype through a "__proto__" key', () => {
      const envelope = parseEnvelope(
        '{"__proto__":{"polluted":1},"event":"x"}',
      );

      expect(envelope.event).toBe('x');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });

    it('ignores inherited "event", "data" and "id" keys of a "__proto__" key', () => {
      const error = parseError(
        '{"__proto__":{"event":"admin","id":"r1","data":1}}',
      );

      expect(error.code).toBe(WsErrorCode.BAD_REQUEST);
      expect(error.message).toBe('"event" must be a non-empty string');
    });
  });

  describe('malformed frames', () => {
    it.each([[''], ['not json'], ['{"event":'], ["{'event':'x'}"]])(
      'refuses the non-JSON %j',
      (text) => {
        const error = parseError(text);

        expect(error.code).toBe(WsErrorCode.BAD_REQUEST);
        expect(error.message).toBe('Message is not valid JSON');
        expect(frameOf(error)).toBeUndefined();
      },
    );

    it.each([
      ['[]'],
      ['[{"event":"x"}]'],
      ['null'],
      ['42'],
      ['"event"'],
      ['true'],
    ])('refuses the non-object %s', (text) => {
      const error = parseError(text);

      expect(error.code).toBe(WsErrorCode.BAD_REQUEST);
      expect(error.message).toBe('Message must be a JSON object');
    });

    it.each([
      ['{}'],
      ['{"event":""}'],
      ['{"event":42}'],
      ['{"event":null}'],
      ['{"event":["x"]}'],
    ])('refuses the missing, empty or non-string event of %s', (text) => {
      const error = parseError(text);

      expect(error.code).toBe(WsErrorCode.BAD_REQUEST);
      expect(error.message).toBe('"event" must be a non-empty string');
      expect(frameOf(error)).toEqual(JSON.parse(text));
    });

    it('answers UNKNOWN_EVENT for a 10 KB event name', () => {
      const event = 'e'.repeat(10 * 1024);
      const error = parseError(JSON.stringify({ event, id: 'r1' }));

      expect(error.code).toBe(WsErrorCode.UNKNOWN_EVENT);
      expect(error.message).toBe('Unknown event');
      expect(error.message).not.toContain(event);
      expect(frameOf(error)).toEqual({ event, id: 'r1' });
    });

    it('answers UNKNOWN_EVENT for an event of 129 characters', () => {
      expect(parseError(JSON.stringify({ event: 'e'.repeat(129) })).code).toBe(
        WsErrorCode.UNKNOWN_EVENT,
      );
    });

    it.each([
      ['an object', { nested: true }],
      ['an array', ['r1']],
      ['null', null],
      ['a boolean', true],
      ['a 65-character string', 'i'.repeat(65)],
      ['a 10 KB string', 'i'.repeat(10 * 1024)],
    ])('refuses an id that is %s', (_case, id) => {
      const error = parseError(JSON.stringify({ event: 'message', id }));

      expect(error.code).toBe(WsErrorCode.BAD_REQUEST);
      expect(error.message).toBe(
        '"id" must be a string of at most 64 characters or a number',
      );
      expect(frameOf(error)).toEqual({ event: 'message', id });
    });

    it('refuses a numeric id that overflows to Infinity', () => {
      expect(parseError('{"event":"message","id":1e400}').code).toBe(
        WsErrorCode.BAD_REQUEST,
      );
    });

    it('attaches the frame without making it enumerable', () => {
      const error = parseError('{"event":""}');

      expect(Object.keys(error)).not.toContain('frame');
    });
  });
});

describe(echoableId.name, () => {
  it.each([['r1'], ['i'.repeat(64)], [''], [0], [-1.5]])(
    'echoes %j',
    (value) => {
      expect(echoableId(value)).toBe(value);
    },
  );

  it.each([
    ['i'.repeat(65)],
    [Number.NaN],
    [Number.POSITIVE_INFINITY],
    [null],
    [undefined],
    [{ id: 1 }],
    [['r1']],
    [true],
  ])('does not echo %p', (value) => {
    expect(echoableId(value)).toBeUndefined();
  });
});

describe(echoableEvent.name, () => {
  it('echoes a short event name', () => {
    expect(echoableEvent('message')).toBe('message');
  });

  it('cuts a long event name to 128 characters', () => {
    expect(echoableEvent('e'.repeat(10 * 1024))).toBe('e'.repeat(128));
  });

  it.each([[42], [null], [undefined], [{ event: 'x' }]])(
    'does not echo %p',
    (value) => {
      expect(echoableEvent(value)).toBeUndefined();
    },
  );
});

describe(exceedsDepth.name, () => {
  it.each([
    [undefined, 0, false],
    ['text', 0, false],
    [{}, 1, false],
    [{}, 0, true],
    [{ a: [1, { b: 2 }] }, 3, false],
    [{ a: [1, { b: 2 }] }, 2, true],
    [[[], [[[]]]], 3, true],
    [[[], [[[]]]], 4, false],
  ])('exceedsDepth(%j, %i) is %s', (value, maxDepth, expected) => {
    expect(exceedsDepth(value, maxDepth)).toBe(expected);
  });

  it('measures a 100,000-deep array without overflowing the stack', () => {
    const deep: unknown = JSON.parse(
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    );
    expect(exceedsDepth(deep, 32)).toBe(true);
  });
});
