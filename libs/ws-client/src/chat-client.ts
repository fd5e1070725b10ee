import type {
  ChatClientOptions,
  WebSocketConstructor,
  WebSocketEventLike,
  WebSocketLike,
} from './chat-client-options.interface.js';
import { ChatClientError } from './chat-client.error.js';
import type {
  ChatMessage,
  ChatRequestEvent,
  ChatRequests,
  HistoryQuery,
  MessageAck,
  PresenceEvent,
  PrivateMessage,
  RoomMembers,
  RoomMessage,
  RoomSummary,
  ServerFrame,
  SettableStatus,
  StatusEvent,
  TypingEvent,
  WelcomeData,
} from './chat-protocol.types.js';
import {
  CLIENT_TIMEOUT_CLOSE_CODE,
  reconnectDecision,
  type ReconnectDecision,
} from './close-policy.js';
import {
  compareMessageIds,
  isPrivateMessage,
  MessageTracker,
} from './message-tracker.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import { refreshDelay, tokenExpiresAt } from './token-expiry.js';
import { TypedEmitter } from './typed-emitter.js';

/**
 * `idle` (never connected), `connecting` (handshake, welcome, rejoin and recovery), `open` (ready:
 * requests go out at once), `reconnecting` (waiting for the next attempt), `closed` (stopped by
 * `close()` or by a close after which the client does not reconnect; `connect()` starts again).
 *
 * @publicApi
 */
export type ConnectionState =
  'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** How a connection ended. @publicApi */
export interface CloseInfo {
  code: number;
  reason: string;
  wasClean: boolean;
}

/** Payload of the `state` event. @publicApi */
export interface ConnectionStateChange {
  state: ConnectionState;
  previous: ConnectionState;
  /** The close that led here (`reconnecting`, `closed`). */
  close?: CloseInfo;
  /** Whether and why the client reconnects after that close. */
  decision?: ReconnectDecision;
  /** `reconnecting`: the wait before the next attempt, in ms. */
  delayMs?: number;
  /** `reconnecting`: the number of the next attempt (1 for the first retry). */
  attempt?: number;
  /** `closed`: why, as the error that pending `connect()` calls were rejected with. */
  error?: ChatClientError;
}

/** Where a delivered message came from. @publicApi */
export interface MessageMeta {
  /** `live` (pushed, or the reply to one's own `private`), `history` (a history reply), `recovery`. */
  source: 'live' | 'history' | 'recovery';
}

/** Payload of `ready`: the connection is usable and the view is restored. @publicApi */
export interface ReadyInfo {
  /** `false` on the first connection, `true` after a reconnect. */
  reconnected: boolean;
  /** Rooms joined again. */
  rooms: string[];
  /** Messages recovered that had not been delivered before. */
  recovered: number;
}

/**
 * Events of {@link ChatClient} and their listeners' arguments. `message` and `private` deliver
 * every message id exactly once, whatever its source; everything else is passed on as received.
 *
 * @publicApi
 */
export interface ChatClientEvents {
  state: [ConnectionStateChange];
  welcome: [WelcomeData];
  ready: [ReadyInfo];
  message: [RoomMessage, MessageMeta];
  private: [PrivateMessage, MessageMeta];
  presence: [PresenceEvent];
  status: [StatusEvent];
  typing: [TypingEvent];
  /** A `join` reply: the client's own join, a rejoin after reconnect, or `/ws/{room}`. */
  joined: [RoomMembers & { rejoined: boolean }];
  left: [{ room: string }];
  tokenRefreshed: [{ expiresAt: string }];
  /** Errors not tied to a request: refresh or recovery failures, unsolicited exceptions. */
  error: [Error];
  /** Every frame from the server, before the client acts on it. */
  frame: [ServerFrame];
}

/** Options of one request. @publicApi */
export interface RequestOptions {
  /** Overrides `requestTimeoutMs`. */
  timeoutMs?: number;
}

interface PendingRequest {
  event: string;
  data: unknown;
  rejoin: boolean;
  resolve: (data: unknown) => void;
  reject: (error: ChatClientError) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface ReadyWaiter {
  resolve: () => void;
  reject: (error: ChatClientError) => void;
  timer?: ReturnType<typeof setTimeout>;
}

type Timer = ReturnType<typeof setTimeout> | undefined;

const OPEN = 1;
const MAX_TIMER_MS = 2_147_483_647;
/** A token this close to expiry is refreshed (or re-read) before a connection attempt. */
const EXPIRY_MARGIN_MS = 5_000;
const NOOP = (): void => undefined;

/**
 * A typed client of the chat's wire contract (PROTOCOL.md) for browsers and Node.
 *
 * - `request(event, data)` resolves with the reply of the same `id`, or rejects with a
 *   {@link ChatClientError} (`code`, `message`, `errors`, `retryAfterMs`), also on timeout.
 * - A lost connection is retried with exponential backoff and full jitter, except after the closes
 *   that {@link reconnectDecision} calls final (authentication refusals, "Too many connections").
 * - After a reconnect it joins its rooms again, restores a status other than `online`, and fetches
 *   what it missed with `history {after}` per room and per private conversation; `message` and
 *   `private` events deliver each id exactly once, in id order per reconnect.
 * - With `refreshToken`, the token is refreshed (`refresh {token}`) before it expires.
 *
 * @example
 * import { WebSocket } from 'ws'; // Node only; browsers use their own
 * const client = new ChatClient({ url: 'ws://localhost:3000/ws', token, WebSocket });
 * client.on('message', (message) => console.log(`${message.from}: ${message.text}`));
 * await client.connect();
 * await client.join('general');
 * await client.sendMessage('general', 'Hello!');
 *
 * @publicApi
 */
export class ChatClient extends TypedEmitter<ChatClientEvents> {
  private readonly options: ChatClientOptions;
  private readonly Socket: WebSocketConstructor;
  private readonly backoff: ReconnectBackoff;
  private readonly maxAttempts: number;
  private readonly tracker = new MessageTracker();
  private readonly joined = new Set<string>();
  private readonly pending = new Map<number, PendingRequest>();
  private readonly readyWaiters = new Set<ReadyWaiter>();
  private currentState: ConnectionState = 'idle';
  private socket: WebSocketLike | undefined;
  /** Bumped whenever a socket is given up: callbacks of older sockets are ignored. */
  private generation = 0;
  private nextRequestId = 1;
  private token: string | undefined;
  private me: string | undefined;
  private wantedStatus: SettableStatus | undefined;
  private everReady = false;
  /** Set when a socket is opened, cleared by its welcome. */
  private awaitingWelcome = false;
  /** Live messages held back while recovery runs, so that delivery stays in id order. */
  private held: ChatMessage[] | undefined;
  private reconnectTimer: Timer;
  private connectTimer: Timer;
  private keepAliveTimer: Timer;
  private refreshTimer: Timer;

  constructor(options: ChatClientOptions) {
    super((error) =>
      // Like EventTarget: report a listener's exception without stopping the dispatch.
      queueMicrotask(() => {
        throw error;
      }),
    );
    const Socket =
      options.WebSocket ??
      (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Socket) {
      throw new TypeError(
        'ChatClient: no global WebSocket; pass the WebSocket option (e.g. the ws package)',
      );
    }
    this.options = options;
    this.Socket = Socket;
    const reconnect = options.reconnect === false ? {} : options.reconnect;
    this.backoff = new ReconnectBackoff(reconnect, options.random);
    this.maxAttempts =
      options.reconnect === false
        ? 0
        : (options.reconnect?.maxAttempts ?? Number.POSITIVE_INFINITY);
    this.token = typeof options.token === 'string' ? options.token : undefined;
  }

  /** The connection state. */
  get state(): ConnectionState {
    return this.currentState;
  }

  /** The user of the last welcome. */
  get user(): string | undefined {
    return this.me;
  }

  /** Rooms this client is in (rejoined after a reconnect). */
  get rooms(): string[] {
    return [...this.joined];
  }

  /** Private conversations recovered after a reconnect (every one seen or loaded). */
  get conversations(): string[] {
    return this.tracker.conversations();
  }

  /** The newest message id delivered in `room`. */
  lastSeenInRoom(room: string): string | undefined {
    return this.tracker.lastSeenInRoom(room);
  }

  /** The newest message id delivered in the conversation with `user`. */
  lastSeenWith(user: string): string | undefined {
    return this.tracker.lastSeenWith(user);
  }

  /**
   * Connects (or reconnects after `closed`); resolves once the welcome came and the rooms are
   * joined again, rejects if the client stops first (a refusal, `close()`).
   */
  connect(): Promise<void> {
    if (this.currentState === 'open') {
      return Promise.resolve();
    }
    const ready = this.waitReady();
    if (this.currentState === 'idle' || this.currentState === 'closed') {
      this.backoff.reset();
      void this.openSocket();
    }
    return ready;
  }

  /**
   * Closes the connection with 1000 and stops reconnecting. Pending requests reject with `CLOSED`.
   * Rooms and the delivered ids are kept, so a later `connect()` by the same user recovers.
   */
  close(): void {
    const wasActive =
      this.currentState !== 'idle' && this.currentState !== 'closed';
    this.generation += 1;
    this.clearTimers();
    this.dropSocket(1000, 'Client closed');
    this.held = undefined;
    const error = new ChatClientError('CLOSED', 'The client was closed');
    this.rejectPending(error);
    this.rejectWaiters(error);
    if (wasActive) {
      this.setState({
        state: 'closed',
        close: { code: 1000, reason: 'Client closed', wasClean: true },
        error,
      });
    }
  }

  /**
   * Sends a request and resolves with the `data` of its reply. While the client is connecting or
   * reconnecting the request waits (within its timeout); on `idle` or `closed` it rejects with
   * `CLOSED`. A request whose connection is lost before the reply rejects with `DISCONNECTED`.
   *
   * More events can be typed by augmenting {@link ChatRequests}.
   */
  async request<E extends ChatRequestEvent>(
    event: E,
    data: ChatRequests[E]['data'],
    options: RequestOptions = {},
  ): Promise<ChatRequests[E]['reply']> {
    const deadline =
      Date.now() +
      (options.timeoutMs ?? this.options.requestTimeoutMs ?? 10_000);
    if (this.currentState === 'idle' || this.currentState === 'closed') {
      throw new ChatClientError(
        'CLOSED',
        'Not connected: call connect() first',
        { event },
      );
    }
    if (this.currentState !== 'open') {
      await this.waitReady(deadline, event);
    }
    return (await this.send(event, data, deadline)) as ChatRequests[E]['reply'];
  }

  /** `join {room}`: the room is rejoined after every reconnect until `leave`. */
  join(room: string): Promise<RoomMembers> {
    return this.request('join', { room });
  }

  /** `leave {room}`. */
  leave(room: string): Promise<{ room: string }> {
    return this.request('leave', { room });
  }

  /** `message {room, text}`; the message itself arrives as a `message` event. */
  sendMessage(room: string, text: string): Promise<MessageAck> {
    return this.request('message', { room, text });
  }

  /** `private {to, text}`; delivered to this client as a `private` event once acknowledged. */
  sendPrivate(to: string, text: string): Promise<MessageAck> {
    return this.request('private', { to, text });
  }

  /**
   * `history`; the messages not delivered before are also emitted as `message` / `private` events
   * (source `history`). A conversation loaded with `{with}` is recovered after reconnects.
   */
  history(query: HistoryQuery): Promise<{ messages: ChatMessage[] }> {
    return this.request('history', query);
  }

  /** `rooms {}`: rooms with member counts. */
  async listRooms(): Promise<RoomSummary[]> {
    return (await this.request('rooms', {})).rooms;
  }

  /** `members {room}`. */
  members(room: string): Promise<RoomMembers> {
    return this.request('members', { room });
  }

  /** `status {status}`; restored after a reconnect. */
  setStatus(status: SettableStatus): Promise<{ status: SettableStatus }> {
    return this.request('status', { status });
  }

  /** `typing {room}`. */
  typing(room: string): Promise<Record<string, never>> {
    return this.request('typing', { room });
  }

  /** `ping {}`. */
  ping(): Promise<{ ts: string }> {
    return this.request('ping', {});
  }

  /**
   * Gets a new token from `refreshToken` and sends `refresh {token}` now; resolves with the new
   * expiry. While disconnected the new token is kept for the next handshake.
   */
  async refreshNow(): Promise<string | undefined> {
    const refresh = this.options.refreshToken;
    const current = this.token;
    if (!refresh || current === undefined) {
      throw new ChatClientError(
        'UNAUTHORIZED',
        'No refreshToken option or no token to refresh',
        { event: 'refresh' },
      );
    }
    return this.adoptToken(await refresh(current));
  }

  /**
   * Replaces the token: used for the next handshake, and sent as `refresh` now when connected
   * (for an app that obtains tokens itself).
   */
  async setToken(token: string): Promise<void> {
    await this.adoptToken(token);
  }

  /** Sends `refresh` when connected; the token is adopted only once the server took it. */
  private async adoptToken(token: string): Promise<string | undefined> {
    if (!this.socketOpen()) {
      this.token = token;
      return undefined;
    }
    const reply = (await this.send(
      'refresh',
      { token },
      Date.now() + (this.options.requestTimeoutMs ?? 10_000),
    )) as { expiresAt: string };
    this.token = token;
    this.emit('tokenRefreshed', { expiresAt: reply.expiresAt });
    this.scheduleRefresh();
    return reply.expiresAt;
  }

  private async openSocket(): Promise<void> {
    this.generation += 1;
    const generation = this.generation;
    this.setState({ state: 'connecting' });
    let token: string;
    try {
      token = await this.tokenForAttempt();
    } catch (error) {
      if (generation === this.generation) {
        this.emitError(error);
        this.onSocketClosed(generation, {
          code: 1006,
          reason: 'No token',
          wasClean: false,
        });
      }
      return;
    }
    if (generation !== this.generation) {
      return;
    }
    let socket: WebSocketLike;
    try {
      socket =
        this.options.tokenCarrier === 'query'
          ? new this.Socket(withQueryToken(this.options.url, token))
          : new this.Socket(this.options.url, ['bearer', token]);
    } catch (error) {
      this.emitError(error);
      this.onSocketClosed(generation, {
        code: 1006,
        reason: 'Could not open the socket',
        wasClean: false,
      });
      return;
    }
    this.socket = socket;
    this.awaitingWelcome = true;
    socket.onopen = NOOP;
    socket.onerror = NOOP; // a close event follows
    socket.onmessage = (event: WebSocketEventLike) => {
      if (generation === this.generation) {
        this.onFrame(generation, event.data);
      }
    };
    socket.onclose = (event: WebSocketEventLike) => {
      this.onSocketClosed(generation, {
        code: event.code ?? 1006,
        reason: event.reason ?? '',
        wasClean: event.wasClean ?? false,
      });
    };
    this.connectTimer = setTimeout(
      () => this.abandon(generation, 'No welcome in time'),
      this.options.connectTimeoutMs ?? 10_000,
    );
  }

  /** The token for a handshake: refreshed or re-read first if it is about to expire. */
  private async tokenForAttempt(): Promise<string> {
    const source = this.options.token;
    let token = this.token;
    const expiresAt = token === undefined ? undefined : tokenExpiresAt(token);
    const expiring =
      expiresAt !== undefined && expiresAt - Date.now() < EXPIRY_MARGIN_MS;
    if (token === undefined || expiring) {
      if (token !== undefined && this.options.refreshToken) {
        try {
          token = await this.options.refreshToken(token);
        } catch (error) {
          // Try with the old one: the server's answer decides.
          this.emitError(error);
        }
      } else if (typeof source === 'function') {
        token = await source();
      }
    }
    token ??= typeof source === 'string' ? source : await source();
    this.token = token;
    return token;
  }

  private onFrame(generation: number, raw: unknown): void {
    let frame: unknown;
    try {
      frame = JSON.parse(typeof raw === 'string' ? raw : String(raw));
    } catch {
      return;
    }
    if (
      typeof frame !== 'object' ||
      frame === null ||
      typeof (frame as { event?: unknown }).event !== 'string'
    ) {
      return;
    }
    const parsed = frame as ServerFrame;
    this.armKeepAlive(generation);
    this.emit('frame', parsed);
    if (parsed.event === 'welcome' && this.awaitingWelcome) {
      this.onWelcome(generation, parsed.data as WelcomeData);
      return;
    }
    const pending =
      typeof parsed.id === 'number' ? this.pending.get(parsed.id) : undefined;
    if (pending && typeof parsed.id === 'number') {
      this.settle(parsed.id, pending, parsed);
      return;
    }
    this.onPush(parsed);
  }

  private onWelcome(generation: number, welcome: WelcomeData): void {
    this.awaitingWelcome = false;
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    if (this.me !== undefined && this.me !== welcome.user) {
      // Another user: nothing of the previous one is rejoined or recovered.
      this.tracker.clear();
      this.joined.clear();
      this.wantedStatus = undefined;
    }
    this.me = welcome.user;
    this.emit('welcome', welcome);
    this.scheduleRefresh();
    void this.resync(generation);
  }

  /** Rejoin, restore the status, recover what was missed, then deliver it in id order. */
  private async resync(generation: number): Promise<void> {
    this.held = [];
    const reconnected = this.everReady;
    const deadline = (): number =>
      Date.now() + (this.options.requestTimeoutMs ?? 10_000);
    try {
      const rooms = [...this.joined];
      const roommates = new Set<string>();
      await Promise.all(
        rooms.map((room) =>
          this.send('join', { room }, deadline(), true).then(
            (reply) => {
              for (const member of (reply as RoomMembers).members) {
                roommates.add(member.user);
              }
            },
            (error: unknown) => this.dropRoomUnlessLost(room, error),
          ),
        ),
      );
      if (this.wantedStatus !== undefined && this.wantedStatus !== 'online') {
        await this.send(
          'status',
          { status: this.wantedStatus },
          deadline(),
        ).catch((error: unknown) => this.skipUnlessLost(error));
      }
      const recovered = await Promise.all([
        ...[...this.joined].map((room) =>
          this.recover({ room }, this.tracker.lastSeenInRoom(room)),
        ),
        ...this.tracker
          .conversations()
          .map((peer) =>
            this.recover({ with: peer }, this.tracker.lastSeenWith(peer)),
          ),
        ...this.newConversationProbes(roommates),
      ]);
      if (generation !== this.generation) {
        return;
      }
      const held = this.held;
      this.held = undefined;
      let count = 0;
      const all: [ChatMessage, MessageMeta['source']][] = [
        ...recovered
          .flat()
          .map((message): [ChatMessage, 'recovery'] => [message, 'recovery']),
        ...held.map((message): [ChatMessage, 'live'] => [message, 'live']),
      ];
      all.sort(([a], [b]) => compareMessageIds(a.id, b.id));
      for (const [message, source] of all) {
        if (this.deliver(message, source) && source === 'recovery') {
          count += 1;
        }
      }
      this.everReady = true;
      this.backoff.reset();
      this.setState({ state: 'open' });
      this.emit('ready', {
        reconnected,
        rooms: [...this.joined],
        recovered: count,
      });
      this.resolveWaiters();
    } catch (error) {
      if (generation !== this.generation) {
        return; // the socket is gone; its close already decided what comes next
      }
      this.emitError(error);
      this.abandon(generation, 'Recovery failed');
    }
  }

  /**
   * Private messages from users never talked to cannot be listed by the protocol; those from
   * room-mates can: `history {with, after: newest id seen anywhere}` per room-mate (ids are global,
   * so this returns only what came while the client was away), at most `maxProbedRoomMembers`.
   */
  private newConversationProbes(
    roommates: Set<string>,
  ): Promise<ChatMessage[]>[] {
    const anchor = this.tracker.lastSeen();
    if (anchor === undefined || !this.everReady) {
      return [];
    }
    const known = new Set(this.tracker.conversations());
    return [...roommates]
      .filter((user) => user !== this.me && !known.has(user))
      .slice(0, this.options.maxProbedRoomMembers ?? 50)
      .map((user) => this.recover({ with: user }, anchor));
  }

  private dropRoomUnlessLost(room: string, error: unknown): void {
    this.skipUnlessLost(error);
    this.joined.delete(room);
  }

  /** A refusal by the server is reported and skipped; a lost connection fails the resync. */
  private skipUnlessLost(error: unknown): void {
    if (!(error instanceof ChatClientError) || !isServerCode(error.code)) {
      throw error;
    }
    this.emitError(error);
  }

  /** Pages of `history` after `after` (or the newest page when nothing was seen there yet). */
  private async recover(
    target: { room: string } | { with: string },
    after: string | undefined,
  ): Promise<ChatMessage[]> {
    const limit = Math.min(
      Math.max(this.options.recoveryPageSize ?? 100, 1),
      100,
    );
    const maxPages = this.options.maxRecoveryPages ?? 50;
    const messages: ChatMessage[] = [];
    let cursor = after;
    for (let page = 0; page < maxPages; page += 1) {
      const query = (
        cursor === undefined
          ? { ...target, limit }
          : { ...target, after: cursor, limit }
      ) as HistoryQuery;
      let reply: { messages: ChatMessage[] };
      try {
        reply = (await this.send(
          'history',
          query,
          Date.now() + (this.options.requestTimeoutMs ?? 10_000),
        )) as { messages: ChatMessage[] };
      } catch (error) {
        if (error instanceof ChatClientError && isServerCode(error.code)) {
          this.emitError(error); // e.g. a user deleted meanwhile: skip that conversation
          return messages;
        }
        throw error;
      }
      messages.push(...reply.messages);
      const last = reply.messages.at(-1);
      if (cursor === undefined || reply.messages.length < limit || !last) {
        return messages;
      }
      cursor = last.id;
    }
    this.emitError(
      new ChatClientError(
        'INTERNAL',
        `Recovery stopped after ${maxPages} pages of ${JSON.stringify(target)}`,
        { event: 'history' },
      ),
    );
    return messages;
  }

  private settle(
    id: number,
    pending: PendingRequest,
    frame: ServerFrame,
  ): void {
    clearTimeout(pending.timer);
    this.pending.delete(id);
    if (frame.event === 'exception') {
      pending.reject(ChatClientError.fromException(frame.data, pending.event));
      return;
    }
    this.afterReply(pending, frame.data);
    pending.resolve(frame.data);
  }

  /** What the client learns from its own successful requests. */
  private afterReply(pending: PendingRequest, data: unknown): void {
    const sent = (pending.data ?? {}) as Record<string, unknown>;
    switch (pending.event) {
      case 'join': {
        const members = data as RoomMembers;
        this.joined.add(members.room);
        this.emit('joined', { ...members, rejoined: pending.rejoin });
        break;
      }
      case 'leave':
        this.joined.delete((data as { room: string }).room);
        this.emit('left', { room: (data as { room: string }).room });
        break;
      case 'status':
        this.wantedStatus = (data as { status: SettableStatus }).status;
        break;
      case 'private': {
        // The server sends `private` to the sender's other connections only.
        const ack = data as MessageAck;
        if (this.me !== undefined) {
          this.deliver(
            {
              id: ack.id,
              ts: ack.ts,
              from: this.me,
              to: String(sent.to),
              text: String(sent.text),
            },
            'live',
          );
        }
        break;
      }
      case 'history': {
        if (typeof sent.with === 'string') {
          this.tracker.follow(sent.with);
        }
        if (this.held === undefined) {
          for (const message of (data as { messages: ChatMessage[] })
            .messages) {
            this.deliver(message, 'history');
          }
        }
        break;
      }
    }
  }

  private onPush(frame: ServerFrame): void {
    switch (frame.event) {
      case 'message':
      case 'private': {
        const message = frame.data as ChatMessage;
        if (this.held !== undefined) {
          this.held.push(message);
        } else {
          this.deliver(message, 'live');
        }
        break;
      }
      case 'join': {
        // The reply to the room of `/ws/{room}`, pushed without an id.
        const members = frame.data as RoomMembers;
        this.joined.add(members.room);
        this.emit('joined', { ...members, rejoined: false });
        break;
      }
      case 'presence':
        this.emit('presence', frame.data as PresenceEvent);
        break;
      case 'status':
        this.emit('status', frame.data as StatusEvent);
        break;
      case 'typing':
        this.emit('typing', frame.data as TypingEvent);
        break;
      case 'exception':
        this.emitError(ChatClientError.fromException(frame.data));
        break;
    }
  }

  /** Emits a message unless its id was delivered before; returns whether it was emitted. */
  private deliver(
    message: ChatMessage,
    source: MessageMeta['source'],
  ): boolean {
    if (
      typeof message !== 'object' ||
      message === null ||
      typeof message.id !== 'string' ||
      this.me === undefined ||
      !this.tracker.accept(message, this.me)
    ) {
      return false;
    }
    if (isPrivateMessage(message)) {
      this.emit('private', message, { source });
    } else {
      this.emit('message', message, { source });
    }
    return true;
  }

  private send(
    event: string,
    data: unknown,
    deadline: number,
    rejoin = false,
  ): Promise<unknown> {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) {
      return Promise.reject(
        new ChatClientError('DISCONNECTED', 'Not connected', { event }),
      );
    }
    const id = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.pending.delete(id);
          reject(
            new ChatClientError('TIMEOUT', `No reply to "${event}" in time`, {
              event,
            }),
          );
        },
        Math.min(Math.max(deadline - Date.now(), 0), MAX_TIMER_MS),
      );
      this.pending.set(id, { event, data, rejoin, resolve, reject, timer });
      try {
        socket.send(JSON.stringify({ event, data, id }));
      } catch {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new ChatClientError('DISCONNECTED', 'Send failed', { event }));
      }
    });
  }

  private waitReady(deadline?: number, event?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter: ReadyWaiter = { resolve, reject };
      if (deadline !== undefined) {
        waiter.timer = setTimeout(
          () => {
            this.readyWaiters.delete(waiter);
            reject(
              new ChatClientError('TIMEOUT', 'Not connected in time', {
                event,
              }),
            );
          },
          Math.min(Math.max(deadline - Date.now(), 0), MAX_TIMER_MS),
        );
      }
      this.readyWaiters.add(waiter);
    });
  }

  private resolveWaiters(): void {
    for (const waiter of this.readyWaiters) {
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
    this.readyWaiters.clear();
  }

  private rejectWaiters(error: ChatClientError): void {
    for (const waiter of this.readyWaiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.readyWaiters.clear();
  }

  private rejectPending(error: ChatClientError): void {
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(
        new ChatClientError(error.code, error.message, {
          event: pending.event,
          closeCode: error.closeCode,
          closeReason: error.closeReason,
        }),
      );
    }
    this.pending.clear();
  }

  /** Gives up on a socket that did not answer in time, as if it had closed. */
  private abandon(generation: number, reason: string): void {
    if (generation !== this.generation) {
      return;
    }
    this.dropSocket(CLIENT_TIMEOUT_CLOSE_CODE, reason);
    this.onSocketClosed(generation, {
      code: CLIENT_TIMEOUT_CLOSE_CODE,
      reason,
      wasClean: false,
    });
  }

  private onSocketClosed(generation: number, close: CloseInfo): void {
    if (generation !== this.generation) {
      return;
    }
    this.generation += 1;
    this.clearTimers();
    this.dropSocket();
    this.held = undefined; // not marked delivered: recovered on the next connection
    const decision = reconnectDecision(close.code, close.reason);
    const lost = new ChatClientError(
      'DISCONNECTED',
      `Connection lost (${close.code}${close.reason ? ` ${close.reason}` : ''})`,
      { closeCode: close.code, closeReason: close.reason },
    );
    this.rejectPending(lost);
    if (!decision.reconnect || this.backoff.attempt >= this.maxAttempts) {
      const error = decision.reconnect
        ? lost
        : new ChatClientError('REFUSED', close.reason || 'Connection refused', {
            closeCode: close.code,
            closeReason: close.reason,
          });
      this.setState({ state: 'closed', close, decision, error });
      this.rejectWaiters(error);
      return;
    }
    const delayMs = this.backoff.next();
    this.setState({
      state: 'reconnecting',
      close,
      decision,
      delayMs,
      attempt: this.backoff.attempt,
    });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.openSocket();
    }, delayMs);
  }

  /** Sends `ping` after a quiet spell; a connection that does not answer is dropped. */
  private armKeepAlive(generation: number): void {
    const every = this.options.keepAliveMs ?? 25_000;
    clearTimeout(this.keepAliveTimer);
    if (every <= 0) {
      return;
    }
    this.keepAliveTimer = setTimeout(() => {
      this.send(
        'ping',
        {},
        Date.now() + (this.options.requestTimeoutMs ?? 10_000),
      ).catch((error: unknown) => {
        if (error instanceof ChatClientError && error.code === 'TIMEOUT') {
          this.abandon(generation, 'No answer to ping');
        }
      });
    }, every);
  }

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    const expiresAt =
      this.token === undefined ? undefined : tokenExpiresAt(this.token);
    if (!this.options.refreshToken || expiresAt === undefined) {
      return;
    }
    const delay = refreshDelay(
      expiresAt,
      Date.now(),
      this.options.refreshBeforeExpiryMs ?? 60_000,
    );
    this.refreshTimer = setTimeout(
      () => void this.refreshInBackground(expiresAt),
      Math.min(delay, MAX_TIMER_MS),
    );
  }

  private async refreshInBackground(expiresAt: number): Promise<void> {
    this.refreshTimer = undefined;
    try {
      await this.refreshNow();
    } catch (error) {
      this.emitError(error);
      // Try again while the old token lasts; when it lapses the server closes "Token expired".
      const remaining = expiresAt - Date.now();
      if (remaining > 1_000 && this.socketOpen()) {
        this.refreshTimer = setTimeout(
          () => void this.refreshInBackground(expiresAt),
          Math.min(remaining / 2, 30_000),
        );
      }
    }
  }

  private socketOpen(): boolean {
    return this.socket !== undefined && this.socket.readyState === OPEN;
  }

  private dropSocket(code?: number, reason?: string): void {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) {
      return;
    }
    // Keep an error handler: `ws` throws on an 'error' event nobody listens to.
    socket.onmessage = NOOP;
    socket.onclose = NOOP;
    socket.onopen = NOOP;
    socket.onerror = NOOP;
    if (code !== undefined) {
      try {
        socket.close(code, reason);
      } catch {
        // Already closing, or a code the implementation rejects: nothing more to do.
      }
    }
  }

  private clearTimers(): void {
    for (const timer of [
      this.reconnectTimer,
      this.connectTimer,
      this.keepAliveTimer,
      this.refreshTimer,
    ]) {
      clearTimeout(timer);
    }
    this.reconnectTimer = undefined;
    this.connectTimer = undefined;
    this.keepAliveTimer = undefined;
    this.refreshTimer = undefined;
  }

  private setState(
    change: Omit<ConnectionStateChange, 'previous'> & {
      state: ConnectionState;
    },
  ): void {
    const previous = this.currentState;
    this.currentState = change.state;
    this.emit('state', { ...change, previous });
  }

  private emitError(error: unknown): void {
    this.emit(
      'error',
      error instanceof Error ? error : new Error(String(error)),
    );
  }
}

const SERVER_CODES = new Set([
  'BAD_REQUEST',
  'UNKNOWN_EVENT',
  'VALIDATION_FAILED',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'RATE_LIMITED',
  'INTERNAL',
]);

function isServerCode(code: string): boolean {
  return SERVER_CODES.has(code);
}

function withQueryToken(url: string, token: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('token', token);
  return parsed.toString();
}
