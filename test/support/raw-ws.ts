import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const DEFAULT_TIMEOUT_MS = 3000;
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** WebSocket opcodes (RFC 6455 section 5.2). */
export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** Everything a hand-built frame may get wrong on purpose. */
export interface RawFrameOptions {
  opcode: number;
  payload?: Buffer | string;
  /** FIN bit; default true. */
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** Client frames must be masked (RFC 6455 5.3); default true. */
  mask?: boolean;
}

/**
 * Encodes one frame exactly as asked, including what a conforming client never sends (unmasked,
 * RSV bits, reserved opcodes, oversized control frames).
 */
export function encodeFrame(options: RawFrameOptions): Buffer {
  const payload =
    typeof options.payload === 'string'
      ? Buffer.from(options.payload, 'utf8')
      : (options.payload ?? Buffer.alloc(0));
  const masked = options.mask ?? true;
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length <= 0xffff ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + (masked ? 4 : 0));
  header[0] =
    ((options.fin ?? true) ? 0x80 : 0) |
    (options.rsv1 ? 0x40 : 0) |
    (options.rsv2 ? 0x20 : 0) |
    (options.rsv3 ? 0x10 : 0) |
    (options.opcode & 0x0f);
  const maskBit = masked ? 0x80 : 0;
  if (lengthBytes === 0) {
    header[1] = maskBit | length;
  } else if (lengthBytes === 2) {
    header[1] = maskBit | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = maskBit | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  if (!masked) {
    return Buffer.concat([header, payload]);
  }
  const key = randomBytes(4);
  key.copy(header, 2 + lengthBytes);
  const body = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    body[i] = payload[i] ^ key[i & 3];
  }
  return Buffer.concat([header, body]);
}

/** A frame as the server sent it. */
export interface RawFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** How a raw connection ended: the server's close frame (if any) and whether TCP closed. */
export interface RawClose {
  code: number | undefined;
  reason: string;
}

/** The HTTP answer to a hand-written request. */
export interface RawHttpResponse {
  status: number;
  headers: Record<string, string>;
  /** Bytes after the header block (a refusal body, or the first frames after a 101). */
  rest: Buffer;
}

/** Options of {@link RawWsClient.open}. */
export interface RawOpenOptions {
  /** Extra header lines, written as given (`Name: value`). */
  headers?: string[];
  /** Local address to connect from (any 127.x.y.z works on Linux loopback). */
  localAddress?: string;
  timeoutMs?: number;
}

/**
 * A WebSocket client over `node:net`, in the spirit of how `ws` tests itself: the handshake is
 * written by hand and frames are sent exactly as built, so that specs can send what no library
 * client would. Server frames are parsed and kept; every wait is bounded.
 */
export class RawWsClient {
  readonly frames: RawFrame[] = [];
  /** Text frames parsed as JSON (`{event, data, id}`). */
  readonly messages: { event: string; id?: unknown; data: any }[] = [];
  close: RawClose | undefined;
  ended = false;
  /** Answer the server's close frame, as RFC 6455 asks, so that it ends TCP at once. */
  replyToClose = true;
  private buffer: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(
    readonly socket: Socket,
    readonly response: RawHttpResponse,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
    if (response.rest.length > 0) {
      this.onData(response.rest);
    }
    socket.resume();
  }

  /** Opens a TCP connection, performs the upgrade by hand and resolves once the server answered. */
  static async open(
    port: number,
    path: string,
    options: RawOpenOptions = {},
  ): Promise<RawWsClient> {
    const key = randomBytes(16).toString('base64');
    const request = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${key}`,
      'Sec-WebSocket-Version: 13',
      ...(options.headers ?? []),
    ].join('\r\n');
    const { socket, response } = await rawHttp(port, `${request}\r\n\r\n`, {
      localAddress: options.localAddress,
      timeoutMs: options.timeoutMs,
      keepOpen: true,
    });
    if (response.status === 101) {
      const accept = createHash('sha1')
        .update(key + WS_GUID)
        .digest('base64');
      if (response.headers['sec-websocket-accept'] !== accept) {
        socket.destroy();
        throw new Error('bad Sec-WebSocket-Accept in the 101 response');
      }
    }
    return new RawWsClient(socket, response);
  }

  /** Writes bytes as they are. */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends one frame built by {@link encodeFrame}. */
  sendFrame(options: RawFrameOptions): void {
    this.write(encodeFrame(options));
  }

  /** Sends a masked text frame. */
  sendText(text: string): void {
    this.sendFrame({ opcode: Opcode.TEXT, payload: text });
  }

  /** Sends `{event, data, id}` as one masked text frame. */
  emit(event: string, data: unknown, id?: string | number): void {
    this.sendText(JSON.stringify({ event, data, id }));
  }

  /** Drops the TCP connection with a RST, as a crashed client or a dying NAT does. */
  reset(): void {
    this.socket.resetAndDestroy();
  }

  /** The first JSON message matching `predicate` (kept in `messages`), bounded. */
  waitForMessage(
    predicate: (message: { event: string; id?: unknown; data: any }) => boolean,
    what: string,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<{ event: string; id?: unknown; data: any }> {
    return this.until(
      () => this.messages.find(predicate),
      what,
      timeoutMs,
      () => this.ended,
    );
  }

  /** The next message of `event`, bounded. */
  next(
    event: string,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<{ event: string; id?: unknown; data: any }> {
    return this.waitForMessage(
      (message) => message.event === event,
      `a "${event}" message`,
      timeoutMs,
    );
  }

  /** Resolves with the server's close frame as soon as it arrives (TCP may stay open), bounded. */
  waitCloseFrame(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RawClose> {
    return this.until(
      () => this.close,
      "the server's close frame",
      timeoutMs,
      () => this.ended,
    );
  }

  /** Resolves once the server closed: its close frame (if any) and the end of TCP, bounded. */
  async waitClosed(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RawClose> {
    await this.until(
      () => (this.ended ? true : undefined),
      'the server to close the connection',
      timeoutMs,
    );
    return this.close ?? { code: undefined, reason: '' };
  }

  private onData(chunk: Buffer): void {
    this.buffer =
      this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const frame = this.parseFrame();
      if (!frame) {
        break;
      }
      this.frames.push(frame);
      if (frame.opcode === Opcode.TEXT) {
        try {
          this.messages.push(
            JSON.parse(frame.payload.toString('utf8')) as {
              event: string;
              data: unknown;
            },
          );
        } catch {
          // Not JSON: kept in `frames` only.
        }
      } else if (frame.opcode === Opcode.CLOSE) {
        this.close = {
          code:
            frame.payload.length >= 2
              ? frame.payload.readUInt16BE(0)
              : undefined,
          reason: frame.payload.subarray(2).toString('utf8'),
        };
        if (this.replyToClose && !this.socket.destroyed) {
          this.sendFrame({
            opcode: Opcode.CLOSE,
            payload: frame.payload.subarray(0, 2),
          });
        }
      }
    }
    this.wake();
  }

  private parseFrame(): RawFrame | undefined {
    const bytes = this.buffer;
    if (bytes.length < 2) {
      return undefined;
    }
    let length = bytes[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (bytes.length < 4) {
        return undefined;
      }
      length = bytes.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (bytes.length < 10) {
        return undefined;
      }
      length = Number(bytes.readBigUInt64BE(2));
      offset = 10;
    }
    if (bytes[1] & 0x80) {
      throw new Error('the server sent a masked frame');
    }
    if (bytes.length < offset + length) {
      return undefined;
    }
    const frame = {
      fin: (bytes[0] & 0x80) !== 0,
      opcode: bytes[0] & 0x0f,
      payload: Buffer.from(bytes.subarray(offset, offset + length)),
    };
    this.buffer = bytes.subarray(offset + length);
    return frame;
  }

  private until<T>(
    find: () => T | undefined,
    what: string,
    timeoutMs: number,
    givesUp: () => boolean = () => false,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = find();
        if (found !== undefined) {
          resolve(found);
          return true;
        }
        if (givesUp()) {
          reject(new Error(`connection ended while waiting for ${what}`));
          return true;
        }
        return false;
      };
      if (check()) {
        return;
      }
      const onWake = (): void => {
        if (check()) {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((waiter) => waiter !== onWake);
        }
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== onWake);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.messages).slice(0, 300)}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(onWake);
    });
  }

  private wake(): void {
    for (const waiter of this.waiters.slice()) {
      waiter();
    }
  }
}

/**
 * Writes `request` (any bytes) to a fresh TCP connection and resolves with the parsed HTTP
 * response head once it arrived, or rejects after `timeoutMs`. The socket is destroyed unless
 * `keepOpen` (then it is left paused); with `untilClosed` the promise waits for the server to
 * close TCP too, and `rest` holds the whole body.
 */
export function rawHttp(
  port: number,
  request: string | Buffer,
  options: {
    localAddress?: string;
    timeoutMs?: number;
    keepOpen?: boolean;
    untilClosed?: boolean;
  } = {},
): Promise<{ socket: Socket; response: RawHttpResponse }> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const socket = connect({
      port,
      host: '127.0.0.1',
      localAddress: options.localAddress,
    });
    let received = Buffer.alloc(0);
    let response: RawHttpResponse | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `timed out after ${timeoutMs} ms waiting for ${options.untilClosed ? 'the server to close after ' : ''}an HTTP response; got ${JSON.stringify(received.toString('latin1').slice(0, 200))}`,
        ),
      );
    }, timeoutMs);
    const finish = (): void => {
      if (!response) {
        return;
      }
      clearTimeout(timer);
      socket.removeListener('data', onData);
      if (!options.keepOpen) {
        socket.destroy();
      }
      resolve({ socket, response });
    };
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      if (!response) {
        const end = received.indexOf('\r\n\r\n');
        if (end === -1) {
          return;
        }
        response = parseHead(received.subarray(0, end).toString('latin1'));
        response.rest = Buffer.from(received.subarray(end + 4));
        if (options.untilClosed) {
          return;
        }
        // Later chunks are for the RawWsClient, which resumes the socket.
        socket.pause();
        finish();
      } else {
        response.rest = Buffer.concat([response.rest, chunk]);
      }
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (!response) {
        clearTimeout(timer);
        reject(
          new Error(
            `connection closed without an HTTP response; got ${JSON.stringify(received.toString('latin1').slice(0, 200))}`,
          ),
        );
        return;
      }
      finish();
    });
    socket.on('connect', () => socket.write(request));
  });
}

function parseHead(head: string): RawHttpResponse {
  const [statusLine = '', ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) {
      headers[line.slice(0, colon).trim().toLowerCase()] = line
        .slice(colon + 1)
        .trim();
    }
  }
  return { status, headers, rest: Buffer.alloc(0) };
}
