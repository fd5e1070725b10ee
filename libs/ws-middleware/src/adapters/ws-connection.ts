import type { Logger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import type { RawData, WebSocket } from 'ws';
import { WsError } from '../errors/ws-error.js';
import type {
  WsConnectionContext,
  WsAuthUser,
} from '../interfaces/ws-connection-context.interface.js';
import type { WsMetricsService } from '../services/ws-metrics.service.js';
import type { WsTokenVerifier } from '../services/ws-token-verifier.service.js';
import { clientIp } from '../utils/client-ip.util.js';
import { extractToken } from '../utils/extract-token.util.js';
import type { ResolvedWsMiddlewareOptions } from '../utils/resolve-options.util.js';
import {
  describeException,
  toWsErrorPayload,
  type WsErrorPayload,
} from '../utils/ws-error-payload.util.js';
import {
  echoableEvent,
  echoableId,
  exceedsDepth,
  frameOf,
  MAX_DATA_DEPTH,
  parseEnvelope,
  type WsEnvelope,
} from '../utils/ws-envelope.util.js';
import { UNKNOWN_EVENT_LABEL } from '../services/ws-metrics.service.js';
import { WsPreparedFrame } from './ws-prepared-frame.js';
import {
  WsCloseCode,
  WsCloseReason,
  WsErrorCode,
} from '../ws-middleware.constants.js';

/** A message handler as Nest binds it to one client: `(data, event) => result`. */
export type WsBoundHandler = (data: unknown, event: string) => unknown;

/** @internal What every connection shares: one object, not one copy per socket. */
export interface WsConnectionDeps {
  options: ResolvedWsMiddlewareOptions;
  metrics: WsMetricsService;
  verifier: WsTokenVerifier;
  logger: Logger;
  debug: boolean;
  trackHook(pending: Promise<unknown>): void;
  /** A number that changes once per event-loop turn (for per-turn budgets). */
  turn(): number;
  /** Calls `connection.releaseWrites()` at the end of this event-loop turn. */
  releaseAfterTurn(connection: WsConnection): void;
}

/** The `net.Socket` under a `ws` socket (`ws` keeps it as `_socket`). */
interface CorkableStream {
  cork(): void;
  uncork(): void;
}

interface WsRequest {
  event: string;
  id: string | number | undefined;
  failure: { exception: unknown } | undefined;
  startedAt: number;
}

const WS_CONNECTION = Symbol('ws-middleware:connection');
const OPEN = 1;
const RATE_WINDOW_MS = 60_000;
const FORCE_TERMINATE_MS = 5_000;
/**
 * Queued frames (and their bytes) one connection may handle before it lets the event loop turn:
 * a client that pipelines hundreds of frames must not keep the loop to itself, or every reply and
 * broadcast it causes piles up unsent until members that read everything look like slow consumers.
 */
const DRAIN_FRAMES_PER_TURN = 32;
const DRAIN_BYTES_PER_TURN = 64 * 1024;
const MAX_TIMER_MS = 2 ** 31 - 1;
const CREDENTIAL_HEADERS = new Set([
  'authorization',
  'sec-websocket-protocol',
  'cookie',
]);

/** The connection context of a socket served by `WsMiddlewareAdapter`, if any. */
export function getWsConnection(
  client: unknown,
): WsConnectionContext | undefined {
  return connectionOf(client);
}

/** @internal The library's own view of a socket's connection. */
export function connectionOf(client: unknown): WsConnection | undefined {
  if (typeof client !== 'object' || client === null) {
    return undefined;
  }
  return (client as { [WS_CONNECTION]?: WsConnection })[WS_CONNECTION];
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * One client socket: its context, its queue of frames and the envelope dispatch. Frames are
 * handled one at a time, in arrival order; frames that arrive while the connection is still being
 * accepted, or while a handler is running, wait in the queue (the socket is paused when the queue
 * is long, so a fast sender meets TCP backpressure instead of unbounded memory).
 *
 * @internal Apps see it as a `WsConnectionContext`.
 */
export class WsConnection implements WsConnectionContext {
  readonly id = randomUUID();
  readonly ip: string;
  readonly connectedAt = Date.now();
  readonly path: string;
  readonly subPath: string | undefined;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly state = new Map<string, unknown>();
  user: WsAuthUser | undefined;
  tokenExpiresAt: number | undefined;
  /** Heartbeat pings sent since the client was last heard from. */
  missedPongs = 0;
  /** Set once authenticated and accepted; until then frames only queue. */
  private ready = false;
  private closed = false;
  private busy = false;
  private paused = false;
  /** Queued frames handled since the queue last let the event loop turn, and their bytes. */
  private drainedFrames = 0;
  private drainedBytes = 0;
  /** The event-loop turn those were counted in (`deps.turn()`). */
  private drainTurn = -1;
  private drainScheduled = false;
  private readonly queue: RawData[] = [];
  private handlers: Map<string, WsBoundHandler> | undefined;
  private current: WsRequest | undefined;
  private rateLimitedAt: number[] = [];
  private closeHooks: (() => void | Promise<void>)[] = [];
  private expiryTimer: NodeJS.Timeout | undefined;
  /** The access token until authentication takes it; never logged or exposed. */
  private token: string | undefined;
  private terminateTimer: NodeJS.Timeout | undefined;
  /** The TCP socket is corked until the end of this turn (see `holdWrites`). */
  private holding = false;

  constructor(
    readonly socket: WebSocket,
    request: IncomingMessage,
    gatewayPath: string,
    private readonly deps: WsConnectionDeps,
  ) {
    (socket as WebSocket & { [WS_CONNECTION]?: WsConnection })[WS_CONNECTION] =
      this;
    const url = new URL(request.url ?? '/', 'ws://localhost');
    this.path = url.pathname;
    this.subPath = subPathOf(url.pathname, gatewayPath);
    url.searchParams.delete('token');
    this.query = url.searchParams;
    this.ip = clientIp(request, deps.options.trustProxy);
    const headers: Record<string, string | string[] | undefined> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (!CREDENTIAL_HEADERS.has(name)) {
        headers[name] = value;
      }
    }
    this.headers = headers;
    this.token = extractToken(request);
  }

  /** Hands the access token to authentication, once. */
  takeToken(): string | undefined {
    const token = this.token;
    this.token = undefined;
    return token;
  }

  get isOpen(): boolean {
    return !this.closed && this.socket.readyState === OPEN;
  }

  /** The user id for logs, or `-` before authentication. */
  get userLabel(): string {
    return this.user?.id ?? '-';
  }

  send(event: string, data: unknown): void {
    this.sendFrame(JSON.stringify({ event, data }));
  }

  sendFrame(frame: string | WsPreparedFrame): void {
    if (this.socket.readyState !== OPEN) {
      return;
    }
    if (!this.holding) {
      this.holdWrites();
    }
    if (typeof frame === 'string') {
      this.socket.send(frame);
    } else {
      frame.writeTo(this.socket);
    }
    this.deps.metrics.framesSent(1);
    if (this.socket.bufferedAmount > this.deps.options.maxBufferedBytes) {
      this.close(WsCloseCode.POLICY_VIOLATION, WsCloseReason.SLOW_CONSUMER);
    }
  }

  /**
   * Writes what this turn sent (replies, broadcasts, the close frame after them) in one go. Every
   * frame sent in one event-loop turn waits in the corked TCP socket until the turn ends, so a
   * client that gets several frames in one turn (pipelined replies, a burst of broadcasts) costs
   * one `writev` instead of one syscall per frame, in the same order.
   */
  releaseWrites(): void {
    if (!this.holding) {
      return;
    }
    this.holding = false;
    streamOf(this.socket)?.uncork();
  }

  /**
   * Takes over a cork that the adapter put on the TCP socket before the upgrade, so that the
   * `101` response and what this turn sends after it (the welcome) leave in one write.
   */
  adoptCork(): void {
    if (this.holding) {
      streamOf(this.socket)?.uncork();
      return;
    }
    this.holding = true;
    this.deps.releaseAfterTurn(this);
  }

  private holdWrites(): void {
    const stream = streamOf(this.socket);
    if (!stream) {
      return;
    }
    stream.cork();
    this.holding = true;
    this.deps.releaseAfterTurn(this);
  }

  close(code: number, reason: string): void {
    if (this.closed || this.terminateTimer) {
      return;
    }
    this.socket.close(code, reason);
    // A peer that never answers the close frame (or never reads) must not hold the socket.
    this.terminateTimer = setTimeout(
      () => this.socket.terminate(),
      FORCE_TERMINATE_MS,
    );
    this.terminateTimer.unref();
  }

  /** Drops the connection without a close frame. */
  terminate(): void {
    this.socket.terminate();
  }

  onClose(hook: () => void | Promise<void>): void {
    this.closeHooks.push(hook);
    if (this.closed) {
      this.runCloseHooks();
    }
  }

  /** Sets the verified identity and arms the expiry timer. */
  authenticate(user: WsAuthUser, expiresAtMs: number): void {
    this.user = user;
    this.tokenExpiresAt = expiresAtMs;
    this.armExpiry();
  }

  /** Called with the handlers Nest bound to this client (`bindMessageHandlers`). */
  bindHandlers(handlers: Map<string, WsBoundHandler>): void {
    this.handlers = handlers;
  }

  /** Sends the welcome frame (when enabled). */
  welcome(): void {
    if (!this.deps.options.welcome || !this.user) {
      return;
    }
    this.send('welcome', {
      user: this.user.id,
      connectionId: this.id,
      limits: {
        maxMessageBytes: this.deps.options.maxMessageBytes,
        ...this.deps.options.advertisedLimits,
      },
    });
  }

  /** Accepted: handle what queued up, then every frame as it comes. */
  start(): void {
    this.ready = true;
    this.drain();
  }

  /** Entry point of every frame from the socket. */
  onFrame(data: RawData, isBinary: boolean): void {
    this.missedPongs = 0;
    if (this.closed) {
      return;
    }
    if (isBinary) {
      this.close(
        WsCloseCode.UNSUPPORTED_DATA,
        WsCloseReason.BINARY_NOT_SUPPORTED,
      );
      return;
    }
    if (!this.ready || this.busy || this.queue.length > 0) {
      this.queue.push(data);
      if (
        !this.paused &&
        this.queue.length >= this.deps.options.maxQueuedFrames
      ) {
        this.paused = true;
        this.socket.pause();
      }
      return;
    }
    this.process(data);
  }

  /** Called once when the socket has closed. */
  onClosed(code: number, reason: string): void {
    this.closed = true;
    this.queue.length = 0;
    clearTimeout(this.expiryTimer);
    clearTimeout(this.terminateTimer);
    if (this.deps.options.logConnections && this.ready) {
      const seconds = ((Date.now() - this.connectedAt) / 1000).toFixed(3);
      this.deps.logger.log(
        `closed id=${this.id} user=${this.userLabel} code=${code}${reason ? ` reason="${reason}"` : ''} duration=${seconds}s`,
      );
    }
    this.runCloseHooks();
  }

  private runCloseHooks(): void {
    const hooks = this.closeHooks;
    this.closeHooks = [];
    for (const hook of hooks) {
      try {
        const result = hook();
        if (isThenable(result)) {
          this.deps.trackHook(
            Promise.resolve(result).catch((error: unknown) =>
              this.deps.logger.error(
                `close hook failed id=${this.id} user=${this.userLabel}`,
                error,
              ),
            ),
          );
        }
      } catch (error) {
        this.deps.logger.error(
          `close hook failed id=${this.id} user=${this.userLabel}`,
          error,
        );
      }
    }
  }

  /** Records the exception of the request being handled (called by `WsExceptionsFilter`). */
  fail(exception: unknown): boolean {
    if (!this.current || this.current.failure) {
      return false;
    }
    this.current.failure = { exception };
    return true;
  }

  /** Sends an error reply outside of any request (e.g. from a filter on a foreign path). */
  sendError(exception: unknown, event?: string, id?: string | number): void {
    this.replyError(toWsErrorPayload(exception), event, id);
  }

  private drain(): void {
    // The budget is per event-loop turn: a steady client (a few frames a turn) never meets it.
    const turn = this.deps.turn();
    if (turn !== this.drainTurn) {
      this.drainTurn = turn;
      this.drainedFrames = 0;
      this.drainedBytes = 0;
    }
    while (this.ready && !this.busy && !this.closed && this.queue.length > 0) {
      if (
        this.drainedFrames >= DRAIN_FRAMES_PER_TURN ||
        this.drainedBytes >= DRAIN_BYTES_PER_TURN
      ) {
        this.drainNextTurn();
        break;
      }
      const next = this.queue.shift() as RawData;
      this.drainedFrames++;
      this.drainedBytes += rawLength(next);
      this.process(next);
    }
    if (
      this.paused &&
      this.queue.length < this.deps.options.maxQueuedFrames / 2
    ) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private drainNextTurn(): void {
    if (this.drainScheduled) {
      return;
    }
    this.drainScheduled = true;
    // The registry's end-of-turn immediate runs first and starts a new turn, so drain() starts
    // a fresh budget.
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private process(data: RawData): void {
    const startedAt = performance.now();
    let envelope: WsEnvelope;
    try {
      envelope = parseEnvelope(rawToString(data));
    } catch (error) {
      const frame = error instanceof WsError ? frameOf(error) : undefined;
      this.deps.metrics.frameReceived(UNKNOWN_EVENT_LABEL);
      this.replyError(
        toWsErrorPayload(error),
        echoableEvent(frame?.event),
        echoableId(frame?.id),
      );
      return;
    }
    const { event, id } = envelope;
    const handler = this.handlers?.get(event) ?? this.builtin(event);
    if (!handler) {
      this.deps.metrics.frameReceived(UNKNOWN_EVENT_LABEL);
      this.replyError(
        {
          code: WsErrorCode.UNKNOWN_EVENT,
          message: `Unknown event "${echoableEvent(event)}"`,
        },
        event,
        id,
      );
      return;
    }
    this.deps.metrics.frameReceived(event);
    const request: WsRequest = { event, id, failure: undefined, startedAt };
    if (exceedsDepth(envelope.data, MAX_DATA_DEPTH)) {
      // Refused before the transform hook, pipes or the handler recurse into it.
      request.failure = {
        exception: WsError.validation([
          {
            field: 'data',
            message: `data must not be nested more than ${MAX_DATA_DEPTH} levels deep`,
          },
        ]),
      };
      this.finish(request, undefined);
      return;
    }
    this.current = request;
    let result: unknown;
    try {
      const transform = this.deps.options.transform;
      const input = transform
        ? transform(envelope.data, { event, connection: this })
        : envelope.data;
      result = handler(input, event);
    } catch (exception) {
      request.failure ??= { exception };
    }
    if (isThenable(result) || isObservable(result)) {
      this.busy = true;
      const pending = isObservable(result)
        ? lastValueFrom(result as Observable<unknown>, {
            defaultValue: undefined,
          })
        : Promise.resolve(result);
      const failed = (exception: unknown): void => {
        request.failure ??= { exception };
        this.settle(request, undefined);
      };
      // One reaction per request (no finally/catch chain): it finishes, then drains the queue.
      // With interceptors, Nest's handler resolves to an Observable: the reply is what it emits.
      pending.then((value) => {
        if (isObservable(value)) {
          lastValueFrom(value, { defaultValue: undefined }).then(
            (emitted) => this.settle(request, emitted),
            failed,
          );
          return;
        }
        this.settle(request, value);
      }, failed);
      return;
    }
    this.finish(request, result);
  }

  private settle(request: WsRequest, value: unknown): void {
    try {
      this.finish(request, value);
    } catch (error) {
      this.deps.logger.error(
        `reply failed id=${this.id} user=${this.userLabel} event=${request.event}`,
        describeException(error),
      );
    }
    this.busy = false;
    this.drain();
  }

  private finish(request: WsRequest, value: unknown): void {
    if (this.current === request) {
      this.current = undefined;
    }
    const { event, id } = request;
    let ok = !request.failure;
    if (ok) {
      let frame: string | undefined;
      try {
        const data = value === undefined ? {} : value;
        frame = JSON.stringify(
          id === undefined ? { event, data } : { event, id, data },
        );
      } catch (exception) {
        request.failure = { exception };
      }
      if (frame !== undefined) {
        this.sendFrame(frame);
      }
    }
    if (request.failure) {
      ok = false;
      const payload = toWsErrorPayload(request.failure.exception);
      if (payload.internal) {
        this.deps.logger.error(
          `handler failed id=${this.id} user=${this.userLabel} event=${event}`,
          describeException(request.failure.exception),
        );
      }
      this.replyError(payload, event, id);
    }
    const seconds = (performance.now() - request.startedAt) / 1000;
    this.deps.metrics.handlerDone(event, seconds);
    if (this.deps.debug) {
      this.deps.logger.debug(
        `message id=${this.id} user=${this.userLabel} event=${event} outcome=${ok ? 'ok' : 'error'} duration=${(seconds * 1000).toFixed(3)}ms`,
      );
    }
  }

  private replyError(
    payload: WsErrorPayload,
    event: string | undefined,
    id: string | number | undefined,
  ): void {
    const data: Record<string, unknown> = {
      status: 'error',
      code: payload.code,
      message: payload.message,
      ...payload.details,
    };
    if (event !== undefined) {
      data.event = event;
    }
    const reply =
      id === undefined
        ? { event: 'exception', data }
        : { event: 'exception', id, data };
    this.sendFrame(JSON.stringify(reply));
    if (payload.code === WsErrorCode.RATE_LIMITED) {
      this.deps.metrics.rateLimitedReply();
      this.countRateLimited();
    }
  }

  private countRateLimited(): void {
    const now = Date.now();
    this.rateLimitedAt = this.rateLimitedAt.filter(
      (at) => now - at < RATE_WINDOW_MS,
    );
    this.rateLimitedAt.push(now);
    if (
      this.rateLimitedAt.length >=
      this.deps.options.rateLimitedRepliesBeforeClose
    ) {
      this.close(
        WsCloseCode.POLICY_VIOLATION,
        WsCloseReason.RATE_LIMIT_EXCEEDED,
      );
    }
  }

  private builtin(event: string): WsBoundHandler | undefined {
    if (event === 'ping') {
      return () => ({ ts: new Date().toISOString() });
    }
    if (event === 'refresh') {
      return (data) => this.refresh(data);
    }
    return undefined;
  }

  private async refresh(data: unknown): Promise<{ expiresAt: string }> {
    const token =
      typeof data === 'object' && data !== null
        ? (data as { token?: unknown }).token
        : undefined;
    if (typeof token !== 'string' || token.length === 0) {
      throw WsError.validation([
        { field: 'token', message: 'token must be a non-empty string' },
      ]);
    }
    const verification = this.deps.verifier.verify(token);
    if (!verification.ok || verification.claims.sub !== this.user?.id) {
      throw WsError.unauthorized('Invalid token');
    }
    const validate = this.deps.options.validateUser;
    if (validate && !(await validate(verification.claims))) {
      throw WsError.unauthorized('Invalid user');
    }
    this.tokenExpiresAt = verification.claims.exp * 1000;
    this.armExpiry();
    return { expiresAt: new Date(this.tokenExpiresAt).toISOString() };
  }

  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    if (this.tokenExpiresAt === undefined || this.closed) {
      return;
    }
    const deadline =
      this.tokenExpiresAt + this.deps.options.clockToleranceSec * 1000;
    const delay = deadline - Date.now();
    if (delay > MAX_TIMER_MS) {
      this.expiryTimer = setTimeout(() => this.armExpiry(), MAX_TIMER_MS);
    } else {
      this.expiryTimer = setTimeout(
        () =>
          this.close(WsCloseCode.POLICY_VIOLATION, WsCloseReason.TOKEN_EXPIRED),
        Math.max(0, delay),
      );
    }
    this.expiryTimer.unref();
  }
}

function streamOf(socket: WebSocket): CorkableStream | undefined {
  const stream = (socket as unknown as { _socket?: Partial<CorkableStream> })
    ._socket;
  return typeof stream?.cork === 'function' &&
    typeof stream.uncork === 'function'
    ? (stream as CorkableStream)
    : undefined;
}

function subPathOf(pathname: string, gatewayPath: string): string | undefined {
  const base = gatewayPath.endsWith('/') ? gatewayPath : `${gatewayPath}/`;
  if (pathname === gatewayPath || !pathname.startsWith(base)) {
    return undefined;
  }
  try {
    return decodeURIComponent(pathname.slice(base.length));
  } catch {
    return pathname.slice(base.length);
  }
}

function rawLength(data: RawData): number {
  if (Array.isArray(data)) {
    return data.reduce((sum, part) => sum + part.length, 0);
  }
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) {
    return data.toString('utf8');
  }
  return Array.isArray(data)
    ? Buffer.concat(data).toString('utf8')
    : Buffer.from(data).toString('utf8');
}
