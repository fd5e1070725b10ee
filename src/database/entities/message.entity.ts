import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Whether a stored message went to a room or to one user. */
export type MessageKind = 'room' | 'private';

/**
 * A stored chat message, room or private. Ids grow with every insert (SQLite
 * `AUTOINCREMENT`, PostgreSQL `bigserial`) and are never reused.
 *
 * @publicApi
 */
@Entity({ name: 'messages' })
@Index('IDX_messages_room_id', ['room', 'id'])
@Index('IDX_messages_sender_recipient_id', ['sender', 'recipient', 'id'])
export class MessageEntity {
  /** Increasing id; a string because PostgreSQL returns `bigint` as one (SQLite gives a number). */
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string | number;

  /** `room` or `private`. */
  @Column({ type: 'varchar', length: 16 })
  kind: MessageKind;

  /** Room name for room messages, null for private ones. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  room: string | null;

  /** Username of the author. */
  @Column({ type: 'varchar', length: 32 })
  sender: string;

  /** Username of the addressee for private messages, null for room ones. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  recipient: string | null;

  /** Message text, as stored (already censored). */
  @Column({ type: 'text' })
  text: string;

  /** When the message was stored (UTC). */
  @Column({ name: 'created_at', type: Date })
  createdAt: Date;
}
