import { WebSocket, type ClientOptions } from 'ws';

/** A frame as the server sent it. */
export interface Frame {
  event: string;
  id?: string | number;
  data: Record<string, unknown> & { [key: string]: unknown };
}

/** How a connection ended. */
export interface CloseInfo {
  code: number;
  reason: string;
}

const DEFAULT_TIMEOUT_MS = 3000;

/**
 * A real `ws` client for e2e specs: frames are buffered so that a spec awaits the next one (or the
 * next of an event) with a bounded wait whose error says what was awaited.
 */
export class WsTestClient {
  readonly socket: WebSocket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<CloseInfo>;
  readonly opened: Promise<void>;
  /** Set if the handshake failed at the HTTP level (status code of the refusal). */
  httpStatus: number | undefined;
  httpHeaders: Record<string, string | string[] | undefined> = {};
  private waiters: (() => void)[] = [];
  private nextId = 1;

  constructor(
    url: string,
    protocols?: string | string[],
    options: ClientOptions = {},
  ) {
    this.socket = new WebSocket(url, protocols, options);
    this.socket.on('message', (data) => {
      this.frames.push(JSON.parse((data as Buffer).toString('utf8')) as Frame);
      this.wake();
    });
    this.socket.on('unexpected-response', (_request, response) => {
      this.httpStatus = response.statusCode;
      this.httpHeaders = response.headers;
      response.resume();
      this.socket.terminate();
    });
    this.socket.on('error', () => undefined);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('close', () => reject(new Error('closed before open')));
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => {
      this.socket.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.wake();
      });
    });
  }

  /** Connects and waits for the welcome frame. */
  static async connect(
    url: string,
    protocols?: string | string[],
    options?: ClientOptions,
  ): Promise<WsTestClient> {
    const client = new WsTestClient(url, protocols, options);
    await client.next('welcome');
    return client;
  }

  /** Sends a raw text frame. */
  sendRaw(text: string): void {
    this.socket.send(text);
  }

  /** Sends `{event, data, id}` (an id is generated unless given) and returns the id. */
  emit(
    event: string,
    data?: unknown,
    id: string | number = `r${this.nextId++}`,
  ): string | number {
    this.socket.send(JSON.stringify({ event, data, id }));
    return id;
  }

  /** Sends a request and resolves with its reply (success or `exception`) by id. */
  async request(
    event: string,
    data?: unknown,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<Frame> {
    const id = this.emit(event, data);
    return this.waitFor(
      (frame) => frame.id === id,
      `reply to ${event} #${id}`,
      timeoutMs,
    );
  }

  /** The next buffered frame (optionally of `event`), removed from the buffer. */
  next(event?: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Frame> {
    return this.waitFor(
      (frame) => event === undefined || frame.event === event,
      event ? `a "${event}" frame` : 'a frame',
      timeoutMs,
    );
  }

  /** Resolves with the first buffered frame matching `predicate`, removed from the buffer. */
  waitFor(
    predicate: (frame: Frame) => boolean,
    what: string,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const index = this.frames.findIndex(predicate);
        if (index !== -1) {
          const [frame] = this.frames.splice(index, 1);
          resolve(frame);
          return true;
        }
        if (this.socket.readyState === WebSocket.CLOSED) {
          reject(new Error(`connection closed while waiting for ${what}`));
          return true;
        }
        return false;
      };
      if (check()) {
        return;
      }
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== onWake);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; buffered: ${JSON.stringify(this.frames).slice(0, 500)}`,
          ),
        );
      }, timeoutMs);
      const onWake = (): void => {
        if (check()) {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((waiter) => waiter !== onWake);
        }
      };
      this.waiters.push(onWake);
    });
  }

  /** Waits for the connection to close, bounded. */
  async waitClosed(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CloseInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`timed out after ${timeoutMs} ms waiting for close`),
          ),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket.close();
  }

  private wake(): void {
    for (const waiter of this.waiters.slice()) {
      waiter();
    }
  }
}
