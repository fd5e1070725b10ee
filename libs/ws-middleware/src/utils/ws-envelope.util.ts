import { WsError } from '../errors/ws-error.js';
import { WsErrorCode } from '../ws-middleware.constants.js';

/** A parsed client frame. */
export interface WsEnvelope {
  event: string;
  data: unknown;
  id: string | number | undefined;
}

const MAX_ID_LENGTH = 64;
const MAX_EVENT_LENGTH = 128;

/**
 * Deepest nesting of arrays and objects accepted in a frame's `data`. JSON.parse takes any depth,
 * but class-transformer, class-validator and most app code recurse and overflow the stack on a
 * 100,000-deep array that fits in 200 KB.
 */
export const MAX_DATA_DEPTH = 32;

/** The request id of a frame that could not be fully parsed, if it is one we may echo. */
export function echoableId(value: unknown): string | number | undefined {
  if (typeof value === 'string' && value.length <= MAX_ID_LENGTH) {
    return value;
  }
  if (typeof value === 'number' && Number.isFinite(value)) {
    return value;
  }
  return undefined;
}

/** The request event name as echoed in an error reply (long names are cut). */
export function echoableEvent(value: unknown): string | undefined {
  return typeof value === 'string'
    ? value.slice(0, MAX_EVENT_LENGTH)
    : undefined;
}

/**
 * Parses a text frame into `{event, data, id}`; throws `WsError` (`BAD_REQUEST`) with the
 * partially parsed object attached as `cause` when the envelope is malformed.
 */
export function parseEnvelope(text: string): WsEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw WsError.badRequest('Message is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw WsError.badRequest('Message must be a JSON object');
  }
  const frame = parsed as Record<string, unknown>;
  const id = Object.hasOwn(frame, 'id') ? frame.id : undefined;
  if (id !== undefined && echoableId(id) === undefined) {
    throw withFrame(
      WsError.badRequest(
        '"id" must be a string of at most 64 characters or a number',
      ),
      frame,
    );
  }
  const event = Object.hasOwn(frame, 'event') ? frame.event : undefined;
  if (typeof event !== 'string' || event.length === 0) {
    throw withFrame(
      WsError.badRequest('"event" must be a non-empty string'),
      frame,
    );
  }
  if (event.length > MAX_EVENT_LENGTH) {
    throw withFrame(
      new WsError(WsErrorCode.UNKNOWN_EVENT, 'Unknown event'),
      frame,
    );
  }
  const data = Object.hasOwn(frame, 'data') ? frame.data : undefined;
  return { event, data, id: id as string | number | undefined };
}

/**
 * Whether `value` nests arrays or objects more than `maxDepth` levels deep. Iterative, so it cannot
 * overflow the stack itself, and it stops at the first node that is too deep.
 */
export function exceedsDepth(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const [node, depth] = entry;
    if (typeof node !== 'object' || node === null) {
      continue;
    }
    if (depth > maxDepth) {
      return true;
    }
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) {
        stack.push([child, depth + 1]);
      }
    }
  }
  return false;
}

function withFrame(error: WsError, frame: Record<string, unknown>): WsError {
  Object.defineProperty(error, 'frame', { value: frame, enumerable: false });
  return error;
}

/** The partially parsed frame attached by `parseEnvelope`, if any. */
export function frameOf(error: WsError): Record<string, unknown> | undefined {
  return (error as WsError & { frame?: Record<string, unknown> }).frame;
}
