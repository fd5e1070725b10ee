import {
  compareMessageIds,
  conversationPeer,
  isPrivateMessage,
  type ChatMessage,
  type RoomMember,
  type UserStatus,
} from '@app/ws-client';

/** A room or a private conversation. */
export type ConversationKind = 'room' | 'dm';

/** A line of a conversation: a stored message, or a local notice (presence). */
export type Entry =
  | { kind: 'message'; message: ChatMessage }
  | { kind: 'notice'; text: string; afterId: string; seq: number };

/** `room:general`, `dm:bob`. */
export function conversationKey(kind: ConversationKind, name: string): string {
  return `${kind}:${name}`;
}

let noticeSeq = 0;

/** The lines of one conversation in id order (notices stay after the message they followed). */
export class Conversation {
  readonly entries: Entry[] = [];
  unread = 0;
  historyLoaded = false;

  constructor(
    readonly kind: ConversationKind,
    readonly name: string,
  ) {}

  get key(): string {
    return conversationKey(this.kind, this.name);
  }

  /** The newest message id in the conversation, or '0'. */
  get newestId(): string {
    for (let i = this.entries.length - 1; i >= 0; i -= 1) {
      const entry = this.entries[i];
      if (entry.kind === 'message') {
        return entry.message.id;
      }
    }
    return '0';
  }

  /** Messages only, in id order. */
  get messages(): ChatMessage[] {
    return this.entries.flatMap((entry) =>
      entry.kind === 'message' ? [entry.message] : [],
    );
  }

  /** Inserts in id order; returns false for an id already there. */
  addMessage(message: ChatMessage): boolean {
    if (
      this.entries.some(
        (entry) => entry.kind === 'message' && entry.message.id === message.id,
      )
    ) {
      return false;
    }
    const entry: Entry = { kind: 'message', message };
    let index = this.entries.length;
    while (index > 0 && compareEntries(this.entries[index - 1], entry) > 0) {
      index -= 1;
    }
    this.entries.splice(index, 0, entry);
    return true;
  }

  addNotice(text: string): void {
    noticeSeq += 1;
    this.entries.push({
      kind: 'notice',
      text,
      afterId: this.newestId,
      seq: noticeSeq,
    });
  }
}

function sortKey(entry: Entry): [string, number, number] {
  return entry.kind === 'message'
    ? [entry.message.id, 0, 0]
    : [entry.afterId, 1, entry.seq];
}

function compareEntries(a: Entry, b: Entry): number {
  const [idA, kindA, seqA] = sortKey(a);
  const [idB, kindB, seqB] = sortKey(b);
  return compareMessageIds(idA, idB) || kindA - kindB || seqA - seqB;
}

/**
 * What the page shows, independent of the DOM: conversations, room members, statuses, counts,
 * and which conversation is open.
 */
export class ChatState {
  readonly conversations = new Map<string, Conversation>();
  readonly statuses = new Map<string, UserStatus>();
  readonly members = new Map<string, RoomMember[]>();
  readonly joined = new Set<string>();
  roomCounts = new Map<string, number>();
  active: string | undefined;
  /** The room whose members are listed (the active one, or the last active room). */
  membersRoom: string | undefined;

  constructor(readonly me: string) {}

  conversation(kind: ConversationKind, name: string): Conversation {
    const key = conversationKey(kind, name);
    let conversation = this.conversations.get(key);
    if (!conversation) {
      conversation = new Conversation(kind, name);
      this.conversations.set(key, conversation);
    }
    return conversation;
  }

  get activeConversation(): Conversation | undefined {
    return this.active === undefined
      ? undefined
      : this.conversations.get(this.active);
  }

  /** Files a message; counts it unread unless its conversation is open or it is one's own. */
  addMessage(message: ChatMessage): Conversation | undefined {
    const conversation = isPrivateMessage(message)
      ? this.conversation('dm', conversationPeer(message, this.me))
      : this.conversation('room', message.room);
    if (!conversation.addMessage(message)) {
      return undefined;
    }
    if (conversation.key !== this.active && message.from !== this.me) {
      conversation.unread += 1;
    }
    return conversation;
  }

  open(kind: ConversationKind, name: string): Conversation {
    const conversation = this.conversation(kind, name);
    this.active = conversation.key;
    conversation.unread = 0;
    if (kind === 'room') {
      this.membersRoom = name;
    }
    return conversation;
  }

  setMembers(room: string, members: RoomMember[]): void {
    this.members.set(room, [...members]);
    this.roomCounts.set(room, members.length);
    for (const member of members) {
      this.statuses.set(member.user, member.status);
    }
  }

  presence(room: string, user: string, action: 'join' | 'leave'): void {
    const members = (this.members.get(room) ?? []).filter(
      (member) => member.user !== user,
    );
    if (action === 'join') {
      members.push({ user, status: this.statusOf(user, 'online') });
    }
    this.members.set(room, members);
    this.roomCounts.set(room, members.length);
  }

  setStatus(user: string, status: UserStatus): void {
    this.statuses.set(user, status);
    for (const members of this.members.values()) {
      for (const member of members) {
        if (member.user === user) {
          member.status = status;
        }
      }
    }
  }

  statusOf(user: string, fallback: UserStatus = 'offline'): UserStatus {
    return this.statuses.get(user) ?? fallback;
  }

  left(room: string): void {
    this.joined.delete(room);
    this.members.delete(room);
    if (this.active === conversationKey('room', room)) {
      this.active = undefined;
    }
    if (this.membersRoom === room) {
      this.membersRoom = undefined;
    }
  }
}
