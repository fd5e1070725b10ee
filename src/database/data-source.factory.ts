import { Logger } from '@nestjs/common';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/app-config.interface.js';
import { PG_MIGRATIONS_LOCK } from './database.constants.js';
import { MessageEntity } from './entities/message.entity.js';
import { UserEntity } from './entities/user.entity.js';
import { InitialSchema1763900000000 } from './migrations/1763900000000-initial-schema.migration.js';

/** The part of better-sqlite3's `Database` used before TypeORM takes it over. */
interface SqlitePragmas {
  pragma(source: string): unknown;
}

/** Every entity of the chat server. */
export const DATABASE_ENTITIES = [UserEntity, MessageEntity];

/** Every migration, oldest first. */
export const DATABASE_MIGRATIONS = [InitialSchema1763900000000];

/** Error codes worth another connection attempt (the server may still be starting). */
const TRANSIENT_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EAI_AGAIN',
  '57P03', // cannot_connect_now: PostgreSQL is starting up
]);

/**
 * TypeORM options for the configuration: PostgreSQL when `DATABASE_URL` is set, else SQLite
 * (better-sqlite3) at `SQLITE_PATH`. The schema comes from the migrations, run at start.
 *
 * @publicApi
 */
export function dataSourceOptionsFor(config: AppConfig): DataSourceOptions {
  const common = {
    entities: DATABASE_ENTITIES,
    migrations: DATABASE_MIGRATIONS,
    migrationsRun: true,
    migrationsTransactionMode: 'all',
    synchronize: false,
    logging: false,
  } as const;
  if (config.databaseUrl !== undefined) {
    return {
      ...common,
      type: 'postgres',
      url: config.databaseUrl,
      applicationName: 'ws-chat',
    };
  }
  return {
    ...common,
    type: 'better-sqlite3',
    // TypeORM creates the directory of the file.
    database: config.sqlitePath,
    timeout: 5000,
    prepareDatabase: (db: SqlitePragmas) => {
      // WAL lets readers run beside the writer; synchronous=FULL fsyncs the WAL at every
      // commit, so a message whose insert has resolved survives a crash or power loss,
      // not only a killed process.
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
    },
  };
}

/**
 * Whether the failed start-up is worth retrying (connection errors, not bad SQL or migrations).
 *
 * @publicApi
 */
export function isTransientDatabaseError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) {
    return false;
  }
  const code: unknown = (error as { code?: unknown }).code;
  return typeof code === 'string' && TRANSIENT_ERROR_CODES.has(code);
}

/**
 * Initialises the data source, which runs the pending migrations. On PostgreSQL, several
 * nodes may start at once on a fresh database, and TypeORM takes no lock around its
 * migrations: a session advisory lock (per schema), held on a separate connection, lets
 * one node migrate while the others wait.
 *
 * @publicApi
 */
export async function createDataSource(
  options: DataSourceOptions,
): Promise<DataSource> {
  const logger = new Logger('DatabaseModule');
  if (options.type !== 'postgres') {
    const dataSource = await new DataSource(options).initialize();
    logger.log(`SQLite ready at ${String(options.database)}`);
    return dataSource;
  }
  const lock = await new DataSource({
    type: 'postgres',
    url: options.url,
    applicationName: options.applicationName,
    poolSize: 1,
  }).initialize();
  try {
    await lock.query(
      "SELECT pg_advisory_lock(hashtext($1 || coalesce(current_schema(), '')))",
      [PG_MIGRATIONS_LOCK],
    );
    const dataSource = await new DataSource(options).initialize();
    logger.log('PostgreSQL ready');
    return dataSource;
  } finally {
    // Closing the session releases the advisory lock.
    await lock.destroy();
  }
}
