import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG } from '../config/app-config.constants.js';
import type { AppConfig } from '../config/app-config.interface.js';
import {
  createDataSource,
  dataSourceOptionsFor,
  isTransientDatabaseError,
} from './data-source.factory.js';
import { MessageEntity } from './entities/message.entity.js';
import { UserEntity } from './entities/user.entity.js';
import { HistoryService } from './history.service.js';

/**
 * The database: TypeORM on SQLite (`SQLITE_PATH`, default) or PostgreSQL (`DATABASE_URL`),
 * schema by migrations run at start. Needs `AppConfigModule`. Exports `HistoryService` and
 * the repositories of `UserEntity` and `MessageEntity`.
 *
 * @publicApi
 */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        ...dataSourceOptionsFor(config),
        // A local SQLite file does not heal by waiting; a PostgreSQL server may be starting.
        retryAttempts: config.databaseUrl === undefined ? 1 : 10,
        retryDelay: 1000,
        toRetry: isTransientDatabaseError,
      }),
      dataSourceFactory: async (options) => {
        if (options === undefined) {
          throw new Error('DatabaseModule: no data source options');
        }
        return createDataSource(options);
      },
    }),
    TypeOrmModule.forFeature([UserEntity, MessageEntity]),
  ],
  providers: [HistoryService],
  exports: [TypeOrmModule, HistoryService],
})
export class DatabaseModule {}
