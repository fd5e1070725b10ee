import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Creates `users` and `messages` with their indexes, on SQLite and on PostgreSQL.
 * Idempotent (`IF NOT EXISTS`), so a node that races another one to migrate a fresh
 * database does no harm.
 */
export class InitialSchema1763900000000 implements MigrationInterface {
  name = 'InitialSchema1763900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    // SQLite: AUTOINCREMENT, so an id is never reused, even after the newest row is deleted.
    const userId = postgres
      ? '"id" SERIAL PRIMARY KEY'
      : '"id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL';
    const messageId = postgres
      ? '"id" BIGSERIAL PRIMARY KEY'
      : '"id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL';
    const timestamp = postgres ? 'timestamptz' : 'datetime';

    await queryRunner.query(
      `CREATE TABLE IF NOT EXISTS "users" (
        ${userId},
        "username" varchar(32) NOT NULL,
        "password_hash" varchar(255) NOT NULL,
        "created_at" ${timestamp} NOT NULL
      )`,
    );
    await queryRunner.query(
      'CREATE UNIQUE INDEX IF NOT EXISTS "UQ_users_username" ON "users" ("username")',
    );
    await queryRunner.query(
      `CREATE TABLE IF NOT EXISTS "messages" (
        ${messageId},
        "kind" varchar(16) NOT NULL,
        "room" varchar(64),
        "sender" varchar(32) NOT NULL,
        "recipient" varchar(32),
        "text" text NOT NULL,
        "created_at" ${timestamp} NOT NULL,
        CONSTRAINT "CHK_messages_kind" CHECK (
          ("kind" = 'room' AND "room" IS NOT NULL AND "recipient" IS NULL)
          OR ("kind" = 'private' AND "recipient" IS NOT NULL AND "room" IS NULL)
        )
      )`,
    );
    // Room history: WHERE room = ? AND id > ? ORDER BY id.
    await queryRunner.query(
      'CREATE INDEX IF NOT EXISTS "IDX_messages_room_id" ON "messages" ("room", "id")',
    );
    // Private history, one index range per direction: WHERE sender = ? AND recipient = ? ORDER BY id.
    await queryRunner.query(
      'CREATE INDEX IF NOT EXISTS "IDX_messages_sender_recipient_id" ON "messages" ("sender", "recipient", "id")',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE IF EXISTS "messages"');
    await queryRunner.query('DROP TABLE IF EXISTS "users"');
  }
}
