import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import {
  Brackets,
  DataSource,
  type EntityManager,
  type Repository,
  type SelectQueryBuilder,
} from 'typeorm';
import {
  HISTORY_DEFAULT_LIMIT,
  HISTORY_MAX_LIMIT,
  PG_MESSAGES_LOCK,
} from './database.constants.js';
import { MessageEntity } from './entities/message.entity.js';
import type {
  HistoryQuery,
  NewMessage,
  PrivateMessage,
  RoomMessage,
  StoredMessageRef,
} from './history-message.interface.js';

/** A message id as clients send it: a decimal integer (bigint range). */
const MESSAGE_ID = /^(0|[1-9]\d{0,18})$/;

/** Largest value of a PostgreSQL `bigint`. */
const MAX_BIGINT = 2n ** 63n - 1n;

/**
 * Stores chat messages and reads them back by room or by conversation.
 *
 * Ids are strings of increasing integers, never reused, in commit order: once `append`
 * resolves, the message is durable and every message with a smaller id is already readable,
 * so a client that asks for what came `after` the last id it saw misses nothing, on one node
 * or many sharing PostgreSQL.
 *
 * @publicApi
 */
@Injectable()
export class HistoryService {
  private readonly postgres: boolean;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(MessageEntity)
    private readonly messages: Repository<MessageEntity>,
  ) {
    this.postgres = dataSource.options.type === 'postgres';
  }

  /**
   * Stores a message; resolves once it is committed (durable) with its id and timestamp.
   *
   * @example
   * const { id, ts } = await history.append({ kind: 'room', room: 'general', from: 'alice', text: 'hi' });
   */
  async append(message: NewMessage): Promise<StoredMessageRef> {
    if (!this.postgres) {
      // better-sqlite3 runs one statement at a time: ids are assigned in commit order.
      return this.insert(this.messages.manager, message);
    }
    return this.dataSource.transaction(async (manager) => {
      // PostgreSQL hands out sequence values before commit, so two nodes could commit
      // ids 8 and 7 in that order, and a reader that saw 8 would never ask for 7.
      // Serialising inserts makes ids visible in increasing order. The commit also waits
      // for the WAL flush, whatever the server's default, since the reply means "stored".
      await manager.query(
        "SELECT set_config('synchronous_commit', 'on', true), pg_advisory_xact_lock(hashtext($1 || coalesce(current_schema(), '')))",
        [PG_MESSAGES_LOCK],
      );
      return this.insert(manager, message);
    });
  }

  /**
   * Messages of a room, oldest first: with `after`, the first `limit` after it; otherwise
   * the newest `limit` (before `before`, if given).
   *
   * @throws RangeError when a cursor is not a message id or `limit` is not 1-100.
   */
  async roomHistory(
    room: string,
    query: HistoryQuery = {},
  ): Promise<RoomMessage[]> {
    const builder = this.messages
      .createQueryBuilder('m')
      .where('m.kind = :kind', { kind: 'room' })
      .andWhere('m.room = :room', { room });
    const rows = await this.page(builder, query);
    return rows.map((row) => ({
      id: String(row.id),
      room: row.room ?? room,
      from: row.sender,
      text: row.text,
      ts: row.createdAt.toISOString(),
    }));
  }

  /**
   * Private messages between two users, both directions, oldest first; same paging as
   * {@link roomHistory}.
   *
   * @throws RangeError when a cursor is not a message id or `limit` is not 1-100.
   */
  async privateHistory(
    userA: string,
    userB: string,
    query: HistoryQuery = {},
  ): Promise<PrivateMessage[]> {
    const builder = this.messages
      .createQueryBuilder('m')
      .where('m.kind = :kind', { kind: 'private' })
      .andWhere(
        new Brackets((either) => {
          either
            .where('m.sender = :userA AND m.recipient = :userB')
            .orWhere('m.sender = :userB AND m.recipient = :userA');
        }),
      )
      .setParameters({ userA, userB });
    const rows = await this.page(builder, query);
    return rows.map((row) => ({
      id: String(row.id),
      from: row.sender,
      to: row.recipient ?? (row.sender === userA ? userB : userA),
      text: row.text,
      ts: row.createdAt.toISOString(),
    }));
  }

  private async insert(
    manager: EntityManager,
    message: NewMessage,
  ): Promise<StoredMessageRef> {
    const createdAt = new Date();
    const result = await manager.insert(MessageEntity, {
      kind: message.kind,
      room: message.kind === 'room' ? message.room : null,
      recipient: message.kind === 'private' ? message.to : null,
      sender: message.from,
      text: message.text,
      createdAt,
    });
    const id: unknown = result.identifiers[0]?.id;
    if (typeof id !== 'string' && typeof id !== 'number') {
      throw new Error('The database returned no id for the new message');
    }
    return { id: String(id), ts: createdAt.toISOString() };
  }

  private async page(
    builder: SelectQueryBuilder<MessageEntity>,
    { after, before, limit = HISTORY_DEFAULT_LIMIT }: HistoryQuery,
  ): Promise<MessageEntity[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_MAX_LIMIT) {
      throw new RangeError(
        `limit must be an integer from 1 to ${HISTORY_MAX_LIMIT}`,
      );
    }
    // Bound as strings: PostgreSQL casts them to bigint, SQLite to the integer column's affinity.
    if (before !== undefined) {
      builder.andWhere('m.id < :before', {
        before: messageId(before, 'before'),
      });
    }
    if (after !== undefined) {
      builder.andWhere('m.id > :after', { after: messageId(after, 'after') });
      return builder.orderBy('m.id', 'ASC').limit(limit).getMany();
    }
    const newest = await builder.orderBy('m.id', 'DESC').limit(limit).getMany();
    return newest.reverse();
  }
}

function messageId(value: string | number, name: string): string {
  const text =
    typeof value === 'number' && Number.isSafeInteger(value)
      ? String(value)
      : value;
  if (
    typeof text !== 'string' ||
    !MESSAGE_ID.test(text) ||
    BigInt(text) > MAX_BIGINT
  ) {
    throw new RangeError(
      `${name} must be a message id (a non-negative integer, as a decimal string)`,
    );
  }
  return text;
}
