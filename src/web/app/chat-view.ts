import {
  ChatClient,
  ChatClientError,
  type ChatMessage,
  type ConnectionStateChange,
  type SettableStatus,
  type UserStatus,
} from '@app/ws-client';
import { requestToken } from './auth-api.js';
import {
  ChatState,
  conversationKey,
  type Conversation,
  type ConversationKind,
} from './chat-state.js';
import { byId, h } from './dom.js';
import {
  loadView,
  saveSession,
  saveView,
  type Session,
} from './session-store.js';

const ROOM_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const DEFAULT_ROOM = 'general';
const TYPING_SEND_EVERY_MS = 2_000;
const TYPING_SHOW_MS = 4_000;
const ROOMS_REFRESH_MS = 15_000;

/** What the chat view tells the page. */
export interface ChatViewCallbacks {
  /** The session ended (logout, or the server refused the token); `message` says why. */
  onSignedOut(message: string): void;
}

type BannerKind = 'info' | 'warn' | 'error' | 'ok';

/**
 * The chat screen: rooms, members, private conversations, messages, typing, status, and the
 * connection's state, on top of `ChatClient` (which reconnects and recovers by itself).
 */
export class ChatView {
  private readonly client: ChatClient;
  private readonly state: ChatState;
  private readonly events = new AbortController();
  private readonly typers = new Map<string, Map<string, number>>();
  private bannerTimer: ReturnType<typeof setInterval> | undefined;
  private bannerHideTimer: ReturnType<typeof setTimeout> | undefined;
  private roomsTimer: ReturnType<typeof setInterval> | undefined;
  private typingTimer: ReturnType<typeof setTimeout> | undefined;
  private rateLimitedUntil = 0;
  private lastTypingSent = 0;
  private sending = false;
  private disposed = false;

  private readonly el = {
    view: byId('chat-view'),
    title: byId('conversation-title'),
    connection: byId('connection'),
    connectionText: byId('connection-text'),
    status: byId<HTMLSelectElement>('status-select'),
    me: byId('me'),
    logout: byId<HTMLButtonElement>('logout'),
    menu: byId<HTMLButtonElement>('menu-toggle'),
    banner: byId('banner'),
    bannerText: byId('banner-text'),
    bannerAction: byId<HTMLButtonElement>('banner-action'),
    joinForm: byId<HTMLFormElement>('join-form'),
    joinInput: byId<HTMLInputElement>('join-input'),
    roomList: byId('room-list'),
    dmList: byId('dm-list'),
    membersTitle: byId('members-title'),
    memberList: byId('member-list'),
    leave: byId<HTMLButtonElement>('leave-button'),
    messages: byId('messages'),
    empty: byId('empty-conversation'),
    typing: byId('typing'),
    composer: byId<HTMLFormElement>('composer'),
    input: byId<HTMLInputElement>('composer-input'),
    send: byId<HTMLButtonElement>('send-button'),
  };

  constructor(
    private readonly session: Session,
    password: string | undefined,
    private readonly callbacks: ChatViewCallbacks,
  ) {
    this.state = new ChatState(session.user);
    this.client = new ChatClient({
      url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
      token: session.token,
      reconnect: { initialDelayMs: 500, maxDelayMs: 10_000 },
      // The password stays in this closure (memory) only; after a reload there is none, and the
      // session ends when the token expires.
      refreshToken: async () => {
        if (password === undefined) {
          throw new Error('Log in again to stay connected');
        }
        const token = await requestToken(session.user, password);
        saveSession({ user: session.user, token });
        return token;
      },
    });
  }

  start(): void {
    this.el.view.hidden = false;
    this.el.me.textContent = this.session.user;
    this.el.status.value = 'online';
    this.wireDom();
    this.wireClient();
    this.render();
    this.client.connect().catch(() => undefined); // the state listener reports failures
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.events.abort();
    this.client.removeAllListeners();
    this.client.close();
    clearInterval(this.bannerTimer);
    clearInterval(this.roomsTimer);
    clearTimeout(this.typingTimer);
    this.el.view.hidden = true;
    this.el.messages.replaceChildren();
    this.el.roomList.replaceChildren();
    this.el.dmList.replaceChildren();
    this.el.memberList.replaceChildren();
    this.hideBanner();
  }

  private wireDom(): void {
    const { signal } = this.events;
    this.el.composer.addEventListener(
      'submit',
      (event) => {
        event.preventDefault();
        void this.sendCurrent();
      },
      { signal },
    );
    this.el.input.addEventListener('input', () => this.onTyping(), { signal });
    this.el.joinForm.addEventListener(
      'submit',
      (event) => {
        event.preventDefault();
        const room = this.el.joinInput.value.trim();
        if (!ROOM_PATTERN.test(room)) {
          this.showBanner(
            'error',
            'Room names are 1-64 letters, digits, "_", "." or "-".',
            5_000,
          );
          return;
        }
        this.el.joinInput.value = '';
        void this.joinRoom(room, true);
      },
      { signal },
    );
    this.el.status.addEventListener(
      'change',
      () => {
        const status = this.el.status.value as SettableStatus;
        this.client.setStatus(status).catch((error: unknown) => {
          this.showError(error);
        });
      },
      { signal },
    );
    this.el.leave.addEventListener(
      'click',
      () => {
        const active = this.state.activeConversation;
        if (active?.kind === 'room') {
          void this.leaveRoom(active.name);
        }
      },
      { signal },
    );
    this.el.logout.addEventListener(
      'click',
      () => this.callbacks.onSignedOut(''),
      { signal },
    );
    this.el.menu.addEventListener(
      'click',
      () => {
        const open = document.body.classList.toggle('sidebar-open');
        this.el.menu.setAttribute('aria-expanded', String(open));
      },
      { signal },
    );
    this.el.bannerAction.addEventListener(
      'click',
      () => {
        this.hideBanner();
        this.client.connect().catch(() => undefined);
      },
      { signal },
    );
  }

  private wireClient(): void {
    const client = this.client;
    client.on('state', (change) => this.onState(change));
    client.on('ready', (info) => {
      if (info.reconnected) {
        this.showBanner(
          'ok',
          info.recovered > 0
            ? `Reconnected. ${info.recovered} missed message${info.recovered === 1 ? '' : 's'} restored.`
            : 'Reconnected.',
          4_000,
        );
        void this.refreshRooms();
      } else {
        void this.restoreView();
      }
      this.restartRoomsTimer();
    });
    client.on('joined', ({ room, members }) => {
      this.state.joined.add(room);
      this.state.setMembers(room, members);
      this.state.conversation('room', room);
      this.saveView();
      this.renderSidebar();
    });
    client.on('left', ({ room }) => {
      this.state.left(room);
      this.saveView();
      this.render();
    });
    client.on('message', (message) => this.onMessage(message));
    client.on('private', (message) => this.onMessage(message));
    client.on('presence', ({ room, user, action, text }) => {
      this.state.presence(room, user, action);
      // One's own rejoin after a reconnect is no news to oneself.
      if (user !== this.session.user || this.client.state === 'open') {
        this.state.conversation('room', room).addNotice(text);
      }
      if (this.state.active === conversationKey('room', room)) {
        this.renderMessages(false);
      }
      this.renderSidebar();
    });
    client.on('status', ({ user, status }) => {
      this.state.setStatus(user, status);
      if (user === this.session.user && status !== 'offline') {
        this.el.status.value = status;
      }
      this.renderSidebar();
      this.renderTitle();
    });
    client.on('typing', ({ room, user }) => {
      let users = this.typers.get(room);
      if (!users) {
        users = new Map();
        this.typers.set(room, users);
      }
      users.set(user, Date.now() + TYPING_SHOW_MS);
      this.renderTyping();
    });
  }

  private onState(change: ConnectionStateChange): void {
    const { state } = change;
    this.el.connection.dataset.state = state;
    this.updateSendButton();
    if (state === 'open') {
      this.el.connectionText.textContent = 'Connected';
      if (this.el.banner.dataset.kind === 'warn') {
        this.hideBanner();
      }
      return;
    }
    if (state === 'connecting') {
      this.el.connectionText.textContent =
        change.previous === 'reconnecting' ? 'Reconnecting…' : 'Connecting…';
      return;
    }
    if (state === 'reconnecting') {
      const until = Date.now() + (change.delayMs ?? 0);
      this.el.connectionText.textContent = 'Offline';
      this.showCountdown(
        'warn',
        (seconds) =>
          seconds > 0
            ? `Connection lost. Reconnecting in ${seconds} s…`
            : 'Connection lost. Reconnecting…',
        until,
      );
      return;
    }
    if (state === 'closed') {
      this.el.connectionText.textContent = 'Disconnected';
      if (change.decision?.reason === 'auth') {
        const reason = change.close?.reason || 'authentication refused';
        this.callbacks.onSignedOut(
          `Your session ended (${reason}). Please log in again.`,
        );
        return;
      }
      if (change.close && change.close.reason !== 'Client closed') {
        this.showBanner(
          'error',
          `Disconnected: ${change.close.reason || `code ${change.close.code}`}.`,
          undefined,
          'Reconnect',
        );
      }
    }
  }

  /** First connection: the rooms and conversations of the saved view (or #general). */
  private async restoreView(): Promise<void> {
    const saved = loadView(this.session.user);
    const rooms = saved?.rooms.length ? saved.rooms : [DEFAULT_ROOM];
    for (const peer of saved?.dms ?? []) {
      this.state.conversation('dm', peer);
    }
    const [kind, name] = splitKey(saved?.active);
    await Promise.all(
      rooms.map((room) =>
        this.joinRoom(room, kind === undefined ? room === rooms[0] : false),
      ),
    );
    if (kind !== undefined && name !== undefined) {
      if (kind === 'dm' || this.state.joined.has(name)) {
        this.openConversation(kind, name);
      } else if (rooms[0] !== undefined && this.state.joined.has(rooms[0])) {
        this.openConversation('room', rooms[0]);
      }
    }
    await this.refreshRooms();
  }

  private async joinRoom(room: string, open: boolean): Promise<void> {
    try {
      if (!this.state.joined.has(room)) {
        await this.client.join(room);
      }
      if (open) {
        this.openConversation('room', room);
      }
      await this.loadHistory(this.state.conversation('room', room));
    } catch (error) {
      this.showError(error);
    }
  }

  private async leaveRoom(room: string): Promise<void> {
    try {
      await this.client.leave(room);
      const next = [...this.state.joined][0];
      if (next !== undefined) {
        this.openConversation('room', next);
      }
      void this.refreshRooms();
    } catch (error) {
      this.showError(error);
    }
  }

  private openConversation(kind: ConversationKind, name: string): void {
    const conversation = this.state.open(kind, name);
    document.body.classList.remove('sidebar-open');
    this.el.menu.setAttribute('aria-expanded', 'false');
    this.saveView();
    this.render();
    this.el.input.focus({ preventScroll: true });
    if (!conversation.historyLoaded) {
      void this.loadHistory(conversation);
    }
  }

  /** The newest page of a conversation, once; its messages arrive as client events. */
  private async loadHistory(conversation: Conversation): Promise<void> {
    if (conversation.historyLoaded) {
      return;
    }
    conversation.historyLoaded = true;
    try {
      await this.client.history(
        conversation.kind === 'room'
          ? { room: conversation.name, limit: 50 }
          : { with: conversation.name, limit: 50 },
      );
    } catch (error) {
      conversation.historyLoaded = false;
      this.showError(error);
    }
  }

  private async refreshRooms(): Promise<void> {
    if (this.client.state !== 'open') {
      return;
    }
    try {
      const rooms = await this.client.listRooms();
      this.state.roomCounts = new Map(
        rooms.map((summary) => [summary.room, summary.members]),
      );
      for (const room of this.state.joined) {
        this.state.roomCounts.set(
          room,
          this.state.members.get(room)?.length ?? 1,
        );
      }
      this.renderSidebar();
    } catch {
      // Shown again at the next refresh.
    }
  }

  private restartRoomsTimer(): void {
    clearInterval(this.roomsTimer);
    this.roomsTimer = setInterval(
      () => void this.refreshRooms(),
      ROOMS_REFRESH_MS,
    );
  }

  private onMessage(message: ChatMessage): void {
    const conversation = this.state.addMessage(message);
    if (!conversation) {
      return;
    }
    const typers =
      'room' in message ? this.typers.get(message.room) : undefined;
    if (typers?.delete(message.from)) {
      this.renderTyping();
    }
    if (conversation.key === this.state.active) {
      this.renderMessages(false);
    }
    if (conversation.kind === 'dm') {
      this.saveView();
    }
    this.renderSidebar();
  }

  private async sendCurrent(): Promise<void> {
    const conversation = this.state.activeConversation;
    const text = this.el.input.value.trim();
    if (!conversation || text.length === 0 || this.sending) {
      return;
    }
    if (Date.now() < this.rateLimitedUntil) {
      return;
    }
    this.sending = true;
    this.updateSendButton();
    try {
      if (conversation.kind === 'room') {
        await this.client.sendMessage(conversation.name, text);
      } else {
        await this.client.sendPrivate(conversation.name, text);
      }
      if (this.el.input.value.trim() === text) {
        this.el.input.value = '';
      }
      // Receivers clear the indicator on a message: the next keystroke announces typing again.
      this.lastTypingSent = 0;
    } catch (error) {
      if (error instanceof ChatClientError && error.code === 'RATE_LIMITED') {
        this.rateLimitedUntil = Date.now() + (error.retryAfterMs ?? 1_000);
        this.showCountdown(
          'warn',
          (seconds) =>
            `You are sending messages too fast. You can send again in ${seconds} s.`,
          this.rateLimitedUntil,
          () => {
            this.rateLimitedUntil = 0;
            this.updateSendButton();
          },
        );
      } else if (
        error instanceof ChatClientError &&
        (error.code === 'DISCONNECTED' || error.code === 'TIMEOUT')
      ) {
        this.showBanner(
          'warn',
          'The connection dropped before the server confirmed your message. If it was delivered it will appear in the conversation; otherwise send it again.',
          8_000,
        );
      } else {
        this.showError(error);
      }
    } finally {
      this.sending = false;
      this.updateSendButton();
    }
  }

  private onTyping(): void {
    const conversation = this.state.activeConversation;
    const now = Date.now();
    if (
      conversation?.kind !== 'room' ||
      this.el.input.value.trim().length === 0 ||
      now - this.lastTypingSent < TYPING_SEND_EVERY_MS ||
      this.client.state !== 'open'
    ) {
      return;
    }
    this.lastTypingSent = now;
    this.client.typing(conversation.name).catch(() => undefined);
  }

  private saveView(): void {
    saveView(this.session.user, {
      rooms: [...this.state.joined],
      dms: [...this.state.conversations.values()]
        .filter((conversation) => conversation.kind === 'dm')
        .map((conversation) => conversation.name),
      active: this.state.active,
    });
  }

  private render(): void {
    this.renderTitle();
    this.renderSidebar();
    this.renderMessages(true);
    this.renderTyping();
    this.updateSendButton();
  }

  private renderTitle(): void {
    const conversation = this.state.activeConversation;
    this.el.title.replaceChildren();
    if (!conversation) {
      this.el.title.textContent = 'Chat';
      this.el.leave.hidden = true;
      this.el.input.placeholder = 'Join a room to start chatting';
      return;
    }
    if (conversation.kind === 'room') {
      this.el.title.textContent = `#${conversation.name}`;
      this.el.input.placeholder = `Message #${conversation.name}`;
    } else {
      this.el.title.append(
        statusDot(this.state.statusOf(conversation.name)),
        conversation.name,
      );
      this.el.input.placeholder = `Message ${conversation.name}`;
    }
    this.el.leave.hidden = conversation.kind !== 'room';
  }

  private renderSidebar(): void {
    const active = this.state.active;
    const rooms = new Set([
      ...this.state.roomCounts.keys(),
      ...this.state.joined,
    ]);
    this.el.roomList.replaceChildren(
      ...[...rooms].sort().map((room) => {
        const conversation = this.state.conversations.get(
          conversationKey('room', room),
        );
        const joined = this.state.joined.has(room);
        const button = h(
          'button',
          {
            className: 'list-button',
            attrs: { type: 'button', 'data-room': room },
            title: joined ? `Open #${room}` : `Join #${room}`,
          },
          h('span', { className: 'name', text: `#${room}` }),
          h('span', {
            className: 'count',
            text: String(this.state.roomCounts.get(room) ?? 0),
            title: 'members',
          }),
          unreadBadge(conversation?.unread ?? 0),
        );
        button.addEventListener('click', () => {
          if (joined) {
            this.openConversation('room', room);
          } else {
            void this.joinRoom(room, true);
          }
        });
        return h(
          'li',
          {
            className: [
              joined ? 'joined' : '',
              active === conversationKey('room', room) ? 'active' : '',
            ].join(' '),
          },
          button,
        );
      }),
    );

    const dms = [...this.state.conversations.values()].filter(
      (conversation) => conversation.kind === 'dm',
    );
    this.el.dmList.replaceChildren(
      ...dms.map((conversation) => {
        const button = h(
          'button',
          {
            className: 'list-button',
            attrs: { type: 'button', 'data-dm': conversation.name },
          },
          statusDot(this.state.statusOf(conversation.name)),
          h('span', { className: 'name', text: conversation.name }),
          unreadBadge(conversation.unread),
        );
        button.addEventListener('click', () =>
          this.openConversation('dm', conversation.name),
        );
        return h(
          'li',
          { className: active === conversation.key ? 'active' : '' },
          button,
        );
      }),
    );
    if (dms.length === 0) {
      this.el.dmList.append(
        h('li', {
          className: 'hint',
          text: 'Pick a member to talk in private.',
        }),
      );
    }

    const room = this.state.membersRoom;
    this.el.membersTitle.textContent = room ? `Members of #${room}` : 'Members';
    const members = room ? (this.state.members.get(room) ?? []) : [];
    this.el.memberList.replaceChildren(
      ...[...members]
        .sort((a, b) => a.user.localeCompare(b.user))
        .map(({ user }) => {
          const status = this.state.statusOf(user, 'online');
          const label = h(
            'span',
            { className: 'name' },
            user === this.session.user ? `${user} (you)` : user,
          );
          const content = [
            statusDot(status),
            label,
            h('span', { className: 'status-text', text: status }),
          ];
          if (user === this.session.user) {
            return h(
              'li',
              { attrs: { 'data-member': user } },
              h('span', { className: 'list-item' }, ...content),
            );
          }
          const button = h(
            'button',
            {
              className: 'list-button',
              title: `Message ${user} in private`,
              attrs: { type: 'button' },
            },
            ...content,
          );
          button.addEventListener('click', () =>
            this.openConversation('dm', user),
          );
          return h('li', { attrs: { 'data-member': user } }, button);
        }),
    );
  }

  private renderMessages(jump: boolean): void {
    const list = this.el.messages;
    const nearBottom =
      list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    const conversation = this.state.activeConversation;
    const entries = conversation?.entries ?? [];
    list.replaceChildren(
      ...entries.map((entry) => {
        if (entry.kind === 'notice') {
          return h('li', { className: 'notice', text: entry.text });
        }
        const { message } = entry;
        const mine = message.from === this.session.user;
        return h(
          'li',
          {
            className: mine ? 'message mine' : 'message',
            attrs: { 'data-id': message.id },
          },
          h(
            'div',
            { className: 'meta' },
            h('span', { className: 'from', text: message.from }),
            h('time', {
              text: formatTime(message.ts),
              attrs: { datetime: message.ts },
              title: new Date(message.ts).toLocaleString(),
            }),
          ),
          h('div', { className: 'text', text: message.text }),
        );
      }),
    );
    this.el.empty.hidden = !conversation || entries.length > 0;
    if (jump || nearBottom) {
      list.scrollTop = list.scrollHeight;
    }
  }

  private renderTyping(): void {
    clearTimeout(this.typingTimer);
    const conversation = this.state.activeConversation;
    const now = Date.now();
    const users =
      conversation?.kind === 'room'
        ? [...(this.typers.get(conversation.name) ?? [])]
            .filter(([, until]) => until > now)
            .map(([user]) => user)
        : [];
    this.el.typing.textContent =
      users.length === 0
        ? ''
        : users.length === 1
          ? `${users[0]} is typing…`
          : `${users.slice(0, -1).join(', ')} and ${users.at(-1)} are typing…`;
    if (users.length > 0) {
      this.typingTimer = setTimeout(() => this.renderTyping(), 1_000);
    }
  }

  private updateSendButton(): void {
    const open = this.client.state === 'open';
    this.el.send.disabled =
      !open ||
      this.sending ||
      !this.state.activeConversation ||
      Date.now() < this.rateLimitedUntil;
  }

  private showError(error: unknown): void {
    const message =
      error instanceof ChatClientError
        ? error.code === 'VALIDATION_FAILED' && error.errors?.length
          ? error.errors.map((field) => field.message).join('; ')
          : error.message
        : error instanceof Error
          ? error.message
          : String(error);
    this.showBanner('error', message, 6_000);
  }

  private showBanner(
    kind: BannerKind,
    text: string,
    hideAfterMs?: number,
    action?: string,
  ): void {
    clearInterval(this.bannerTimer);
    clearTimeout(this.bannerHideTimer);
    this.el.banner.hidden = false;
    this.el.banner.dataset.kind = kind;
    this.el.bannerText.textContent = text;
    this.el.bannerAction.hidden = action === undefined;
    this.el.bannerAction.textContent = action ?? '';
    if (hideAfterMs !== undefined) {
      this.bannerHideTimer = setTimeout(() => this.hideBanner(), hideAfterMs);
    }
  }

  /** A banner whose text counts down to `until`, then runs `done` and hides. */
  private showCountdown(
    kind: BannerKind,
    text: (seconds: number) => string,
    until: number,
    done?: () => void,
  ): void {
    const tick = (): boolean => {
      const seconds = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      this.el.bannerText.textContent = text(seconds);
      return seconds > 0;
    };
    this.showBanner(kind, '');
    tick();
    this.bannerTimer = setInterval(() => {
      if (!tick()) {
        clearInterval(this.bannerTimer);
        if (done) {
          done();
          this.hideBanner();
        }
      }
    }, 250);
  }

  private hideBanner(): void {
    clearInterval(this.bannerTimer);
    clearTimeout(this.bannerHideTimer);
    this.el.banner.hidden = true;
    delete this.el.banner.dataset.kind;
  }
}

function statusDot(status: UserStatus): HTMLElement {
  return h('span', {
    className: `dot status-${status}`,
    title: status,
    attrs: { role: 'img', 'aria-label': status },
  });
}

function unreadBadge(count: number): HTMLElement | string {
  return count > 0
    ? h('span', {
        className: 'badge',
        text: String(count),
        title: `${count} unread`,
      })
    : '';
}

function formatTime(ts: string): string {
  const date = new Date(ts);
  return Number.isNaN(date.getTime())
    ? ''
    : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function splitKey(
  key: string | undefined,
): [ConversationKind | undefined, string | undefined] {
  const match = key === undefined ? null : /^(room|dm):(.+)$/.exec(key);
  return match
    ? [match[1] as ConversationKind, match[2]]
    : [undefined, undefined];
}
