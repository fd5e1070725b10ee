import type { ChatMessage, PrivateMessage } from './chat-protocol.types.js';

/**
 * Orders message ids: strings of increasing integers (PROTOCOL.md), compared as numbers of any
 * size (shorter is smaller, then digit by digit), never as floats.
 *
 * @publicApi
 */
export function compareMessageIds(a: string, b: string): number {
  if (a.length !== b.length) {
    return a.length - b.length;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether a message is private (has `to`) rather than a room message. @publicApi */
export function isPrivateMessage(
  message: ChatMessage,
): message is PrivateMessage {
  return 'to' in message && typeof message.to === 'string';
}

/**
 * The other user of a private conversation as `me` sees it (`me` for messages to oneself).
 *
 * @publicApi
 */
export function conversationPeer(message: PrivateMessage, me: string): string {
  return message.from === me ? message.to : message.from;
}

/**
 * What the client has delivered: every message id (so that nothing is delivered twice, whether it
 * came live, from a history reply or from recovery), and per room and per private conversation
 * the newest id delivered, which is where recovery resumes (`history {after}`).
 *
 * Ids are unique across rooms and private messages, so one set covers both.
 *
 * @publicApi
 */
export class MessageTracker {
  private readonly seen = new Set<string>();
  private readonly newestInRoom = new Map<string, string>();
  private readonly newestWithPeer = new Map<string, string>();
  private readonly peers = new Set<string>();
  private newestOverall: string | undefined;

  /**
   * Records `message` as delivered to a client whose user is `me`. Returns `false` (and changes
   * nothing) if its id was delivered before.
   */
  accept(message: ChatMessage, me: string): boolean {
    if (this.seen.has(message.id)) {
      return false;
    }
    this.seen.add(message.id);
    if (
      this.newestOverall === undefined ||
      compareMessageIds(message.id, this.newestOverall) > 0
    ) {
      this.newestOverall = message.id;
    }
    if (isPrivateMessage(message)) {
      const peer = conversationPeer(message, me);
      this.peers.add(peer);
      raise(this.newestWithPeer, peer, message.id);
    } else {
      raise(this.newestInRoom, message.room, message.id);
    }
    return true;
  }

  /** Whether a message id was delivered. */
  has(id: string): boolean {
    return this.seen.has(id);
  }

  /** The newest id delivered anywhere (ids are global, so it dates the last thing seen). */
  lastSeen(): string | undefined {
    return this.newestOverall;
  }

  /** The newest id delivered in `room`, if any. */
  lastSeenInRoom(room: string): string | undefined {
    return this.newestInRoom.get(room);
  }

  /** The newest id delivered in the conversation with `peer`, if any. */
  lastSeenWith(peer: string): string | undefined {
    return this.newestWithPeer.get(peer);
  }

  /** Marks a private conversation as one to recover on reconnect, even before its first message. */
  follow(peer: string): void {
    this.peers.add(peer);
  }

  /** The private conversations to recover: every peer followed or seen. */
  conversations(): string[] {
    return [...this.peers];
  }

  /** Forgets everything (a different user logged in). */
  clear(): void {
    this.seen.clear();
    this.newestInRoom.clear();
    this.newestWithPeer.clear();
    this.peers.clear();
    this.newestOverall = undefined;
  }
}

function raise(index: Map<string, string>, key: string, id: string): void {
  const current = index.get(key);
  if (current === undefined || compareMessageIds(id, current) > 0) {
    index.set(key, id);
  }
}
