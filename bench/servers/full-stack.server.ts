// (3) This project's full default stack on the same `echo` handler: `WsMiddlewareAdapter` (JWT at
// connect, origin / handshake-rate / capacity / per-user / per-IP checks, welcome frame, envelope
// with `id`), `@UseWsMiddleware()` (WsAuthGuard, WsThrottlerGuard, WsValidationPipe on a small DTO,
// WsExceptionsFilter) and logging at the default `log` level. Every limit is set so high that it
// never trips, so each check still runs.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import {
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import { IsString, MaxLength, MinLength } from 'class-validator';
import {
  UseWsMiddleware,
  WsMemoryThrottlerStorage,
  WsMiddlewareAdapter,
  WsMiddlewareModule,
} from '../../libs/ws-middleware/src/index.js';

const NEVER = 1_000_000_000;
// Diagnosis only (`node bench/run.mjs --profile`): take one part of the stack out.
const throttle = process.env.BENCH_THROTTLE !== 'off';
const validate = process.env.BENCH_VALIDATION !== 'off';
const logConnections = process.env.BENCH_LOG_CONNECTIONS !== 'off';

class EchoDto {
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  text: string;
}

@UseWsMiddleware({ throttle })
@WebSocketGateway({ path: '/ws' })
class EchoGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() body: EchoDto): EchoDto {
    return body;
  }
}

/** The same handler without a DTO: `WsValidationPipe` lets a body without a class through. */
@UseWsMiddleware({ throttle })
@WebSocketGateway({ path: '/ws' })
class UncheckedEchoGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() body: { text: string }): { text: string } {
    return { text: body.text };
  }
}

@Module({
  imports: [
    // The library's O(1) storage, as its README recommends for a single node.
    ThrottlerModule.forRoot({
      throttlers: [{ ttl: 60_000, limit: NEVER }],
      storage: new WsMemoryThrottlerStorage(),
    }),
    WsMiddlewareModule.forRoot({
      jwtSecret: process.env.JWT_SECRET ?? '',
      connectRateLimit: NEVER,
      maxConnections: NEVER,
      maxConnectionsPerUser: NEVER,
      maxConnectionsPerIp: NEVER,
      logConnections,
    }),
  ],
  providers: [validate ? EchoGateway : UncheckedEchoGateway],
})
class FullStackModule {}

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(FullStackModule, {
    logger: ['fatal', 'error', 'warn', 'log'],
  });
  app.useWebSocketAdapter(new WsMiddlewareAdapter(app));
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 3003), '127.0.0.1');
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
