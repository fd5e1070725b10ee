import fc from 'fast-check';
import { WsError, WsErrorCode } from '@app/ws-middleware';
import {
  echoableEvent,
  echoableId,
  exceedsDepth,
  frameOf,
  MAX_DATA_DEPTH,
  parseEnvelope,
} from '@app/ws-middleware/utils/ws-envelope.util.js';
import { toWsErrorPayload } from '@app/ws-middleware/utils/ws-error-payload.util.js';

/** Any UTF-16 code unit, lone surrogates included (what JSON "\\udXXX" escapes can produce). */
const codeUnit = fc
  .integer({ min: 0, max: 0xffff })
  .map((code) => String.fromCharCode(code));
const anyString = fc.string({ unit: codeUnit, maxLength: 300 });
/** What the adapter parses: any bytes, decoded as UTF-8 (ws has already refused invalid UTF-8). */
const anyBytes = fc
  .uint8Array({ maxLength: 300 })
  .map((bytes) => Buffer.from(bytes).toString('utf8'));
const hostileKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'event',
  'id',
  'data',
  'toString',
);
const anyValue = fc.anything({ key: fc.oneof(hostileKey, fc.string()) });
/** Envelope-shaped JSON with every field wrong in every way, `__proto__` keys included. */
const envelopeLike = fc
  .record(
    {
      event: fc.oneof(
        fc.string({ unit: codeUnit }),
        fc.string({ minLength: 120, maxLength: 400 }),
        anyValue,
      ),
      id: fc.oneof(
        fc.string({ unit: codeUnit, maxLength: 80 }),
        fc.double(),
        fc.integer(),
        anyValue,
      ),
      data: anyValue,
      proto: anyValue,
    },
    { requiredKeys: [] },
  )
  .map(({ proto, ...rest }) => {
    const body = JSON.stringify(rest) ?? '{}';
    // JSON.parse makes "__proto__" an own property, as it does for a hostile client.
    return proto === undefined
      ? body
      : `{"__proto__": ${JSON.stringify(proto) ?? 'null'}${body === '{}' ? '' : `, ${body.slice(1, -1)}`}}`;
  });

const PROTOCOL_ERRORS: string[] = [
  WsErrorCode.BAD_REQUEST,
  WsErrorCode.UNKNOWN_EVENT,
];

/**
 * Checks one frame: `parseEnvelope` either returns a dispatchable envelope or throws a WsError with
 * a PROTOCOL.md code, and the error reply the adapter would build from it is small and serializable.
 */
function checkFrame(text: string): 'dispatch' | 'error' {
  let envelope: ReturnType<typeof parseEnvelope>;
  try {
    envelope = parseEnvelope(text);
  } catch (error) {
    if (!(error instanceof WsError)) {
      throw new Error(`parseEnvelope threw a non-WsError: ${String(error)}`);
    }
    expect(PROTOCOL_ERRORS).toContain(error.code);
    const frame = frameOf(error);
    const reply = JSON.stringify({
      event: 'exception',
      id: echoableId(frame?.id),
      data: { ...toWsErrorPayload(error), event: echoableEvent(frame?.event) },
    });
    expect(reply.length).toBeLessThan(2048);
    return 'error';
  }
  expect(typeof envelope.event).toBe('string');
  expect(envelope.event.length).toBeGreaterThanOrEqual(1);
  expect(envelope.event.length).toBeLessThanOrEqual(128);
  const { id } = envelope;
  expect(
    id === undefined ||
      (typeof id === 'string' && id.length <= 64) ||
      (typeof id === 'number' && Number.isFinite(id)),
  ).toBe(true);
  expect(typeof exceedsDepth(envelope.data, MAX_DATA_DEPTH)).toBe('boolean');
  return 'dispatch';
}

describe(`${parseEnvelope.name} (property-based)`, () => {
  it.each([
    ['any string', anyString],
    ['any byte sequence', anyBytes],
    ['any JSON text', fc.json()],
  ])(
    'gives %s a dispatch or a PROTOCOL.md error, never anything else',
    (_case, text) => {
      fc.assert(
        fc.property(text, (frame) => {
          checkFrame(frame);
        }),
        { numRuns: 500 },
      );
    },
  );

  it('gives hostile envelope-shaped JSON a dispatch or a PROTOCOL.md error, and both happen', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(envelopeLike, (frame) => {
        seen.add(checkFrame(frame));
      }),
      { numRuns: 1000 },
    );
    expect([...seen].sort()).toEqual(['dispatch', 'error']);
  });

  it('returns exactly what a well-formed envelope holds', () => {
    const event = fc.string({ unit: codeUnit, minLength: 1, maxLength: 128 });
    const id = fc.option(
      fc.oneof(
        fc.string({ unit: codeUnit, maxLength: 64 }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
      ),
      { nil: undefined },
    );
    fc.assert(
      fc.property(event, id, fc.jsonValue(), (name, requestId, data) => {
        const parsed = parseEnvelope(
          JSON.stringify({ event: name, data, id: requestId }),
        );
        expect(parsed.event).toBe(name);
        expect(parsed.id).toEqual(
          // JSON has no -0: it reads back as 0.
          Object.is(requestId, -0) ? 0 : requestId,
        );
        expect(parsed.data).toEqual(JSON.parse(JSON.stringify(data)));
      }),
      { numRuns: 500 },
    );
  });

  it('measures any nesting depth without overflowing the stack', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200_000 }), (depth) => {
        const { data } = parseEnvelope(
          `{"event": "x", "data": ${'['.repeat(depth)}1${']'.repeat(depth)}}`,
        );
        expect(exceedsDepth(data, MAX_DATA_DEPTH)).toBe(depth > MAX_DATA_DEPTH);
      }),
      { numRuns: 40 },
    );
  });
});
