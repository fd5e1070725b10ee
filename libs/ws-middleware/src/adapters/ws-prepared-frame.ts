import * as ws from 'ws';

interface SenderStatic {
  frame(data: Buffer, options: Record<string, unknown>): Buffer[];
}

/** The parts of `ws`'s per-socket sender that a prepared frame needs (not in @types/ws). */
export interface WsSenderInternals {
  _state: number;
  sendFrame(list: Buffer[]): void;
}

const Sender = (ws as unknown as { Sender: SenderStatic }).Sender;
const SENDER_IDLE = 0;

/**
 * A text frame framed once (header + UTF-8 payload) and written as-is to many sockets: a
 * broadcast to N members costs one serialization and one encoding instead of N. Falls back to
 * `socket.send(text)` on a socket whose sender is busy or compresses.
 *
 * @publicApi
 */
export class WsPreparedFrame {
  private parts: Buffer[] | undefined;

  constructor(readonly text: string) {}

  /**
   * The whole frame (header and payload) in one buffer, built on first use: one buffer makes
   * `ws` write it with a single `write()`, without the cork/uncork and `writev` of a two-part
   * frame.
   */
  get frames(): Buffer[] {
    this.parts ??= [
      Buffer.concat(
        Sender.frame(Buffer.from(this.text, 'utf8'), {
          fin: true,
          opcode: 1,
          mask: false,
          readOnly: false,
          rsv1: false,
        }),
      ),
    ];
    return this.parts;
  }

  /** Writes the frame to `socket` (an open server-side `ws` socket). */
  writeTo(socket: ws.WebSocket): void {
    const sender = (socket as unknown as { _sender?: WsSenderInternals })
      ._sender;
    if (
      sender &&
      sender._state === SENDER_IDLE &&
      typeof sender.sendFrame === 'function'
    ) {
      sender.sendFrame(this.frames);
      return;
    }
    socket.send(this.text);
  }
}
