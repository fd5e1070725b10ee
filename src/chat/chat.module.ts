import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { RedisChatEngine } from '../cluster/redis-chat.engine.js';
import { RedisService } from '../cluster/redis.service.js';
import { DatabaseModule } from '../database/database.module.js';
import { CensorService } from './censor.service.js';
import { ChatConnectionMiddleware } from './chat-connection.middleware.js';
import { ChatGateway } from './chat.gateway.js';
import { CHAT_ENGINE } from './engine/chat-engine.interface.js';
import { MemoryChatEngine } from './engine/memory-chat.engine.js';
import { LocalConnectionsService } from './local-connections.service.js';
import { RoomsService } from './rooms.service.js';

/** The chat: gateway, rooms, presence, history, censoring, behind a swappable engine. */
@Module({
  imports: [AuthModule, DatabaseModule],
  providers: [
    {
      provide: CHAT_ENGINE,
      inject: [RedisService],
      useFactory: (redis: RedisService) =>
        redis.enabled ? new RedisChatEngine(redis) : new MemoryChatEngine(),
    },
    LocalConnectionsService,
    RoomsService,
    CensorService,
    ChatConnectionMiddleware,
    ChatGateway,
  ],
  exports: [CHAT_ENGINE, CensorService, ChatConnectionMiddleware],
})
export class ChatModule {}
