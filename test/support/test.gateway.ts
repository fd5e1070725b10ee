import {
  Injectable,
  Module,
  UseInterceptors,
  type DynamicModule,
} from '@nestjs/common';
import { SkipThrottle, Throttle, ThrottlerModule } from '@nestjs/throttler';
import {
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import {
  IsInt,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import {
  UseWsMiddleware,
  WsConnection,
  WsConnectionRefusedError,
  WsError,
  WsLoggingInterceptor,
  WsTimingInterceptor,
  WsMiddlewareModule,
  WsPublic,
  WsUser,
  type WsAuthUser,
  type WsConnectionContext,
  type WsConnectionMiddleware,
  type WsMiddlewareModuleOptions,
} from '@app/ws-middleware';
import { TEST_SECRET } from './tokens.js';

class EchoDto {
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  text: string;
}

class FloodDto {
  @IsInt()
  @Min(1)
  @Max(1000)
  count: number;

  @IsInt()
  @Min(1)
  @Max(65536)
  size: number;
}

class DelayDto {
  @IsInt()
  @Min(0)
  @Max(1000)
  ms: number;
}

/** Refuses `/ws/forbidden` (1008 "Invalid room") and greets `/ws/<room>` after acceptance. */
@Injectable()
export class TestRoomMiddleware implements WsConnectionMiddleware {
  async use(
    connection: WsConnectionContext,
    next: () => Promise<void>,
  ): Promise<void> {
    if (connection.subPath === 'forbidden') {
      throw new WsConnectionRefusedError(1008, 'Invalid room');
    }
    await next();
    if (connection.subPath) {
      connection.send('join', { room: connection.subPath });
    }
  }
}

/** A gateway that is not the chat app: one handler per library behaviour under test. */
@UseWsMiddleware()
@SkipThrottle({ default: true })
@WebSocketGateway({ path: '/ws' })
export class TestGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() body: EchoDto): { text: string; dto: boolean } {
    return { text: body.text, dto: body instanceof EchoDto };
  }

  @SubscribeMessage('whoami')
  whoami(
    @WsUser() user: WsAuthUser,
    @WsConnection() connection: WsConnectionContext,
  ): unknown {
    return { user: user.id, connectionId: connection.id, ip: connection.ip };
  }

  @SubscribeMessage('boom')
  boom(): never {
    throw new Error('secret internal detail at /srv/app.js:42');
  }

  @SubscribeMessage('forbidden')
  forbidden(): never {
    throw WsError.forbidden('Not a member');
  }

  @SubscribeMessage('missing')
  missing(): never {
    throw WsError.notFound('No such thing');
  }

  @SubscribeMessage('delay')
  async delay(@MessageBody() body: DelayDto): Promise<{ ms: number }> {
    await new Promise((resolve) => setTimeout(resolve, body.ms));
    return { ms: body.ms };
  }

  @SubscribeMessage('flood')
  flood(
    @MessageBody() body: FloodDto,
    @WsConnection() connection: WsConnectionContext,
  ): { sent: number } {
    const payload = 'x'.repeat(body.size);
    for (let i = 0; i < body.count; i++) {
      connection.send('blob', { i, payload });
    }
    return { sent: body.count };
  }

  @SkipThrottle({ default: false })
  @Throttle({ default: { limit: 3, ttl: 60_000 } })
  @SubscribeMessage('limited')
  limited(): { ok: true } {
    return { ok: true };
  }

  @UseInterceptors(WsLoggingInterceptor)
  @SubscribeMessage('logged')
  logged(@MessageBody() body: EchoDto): { text: string } {
    if (body.text === 'fail') {
      throw WsError.forbidden('No');
    }
    return { text: body.text };
  }

  @UseInterceptors(WsTimingInterceptor)
  @SubscribeMessage('timed')
  async timed(@MessageBody() body: EchoDto): Promise<{ text: string }> {
    await new Promise((resolve) => setImmediate(resolve));
    return { text: body.text };
  }

  @WsPublic()
  @SubscribeMessage('public')
  open(): { public: true } {
    return { public: true };
  }
}

/** Users that `validateUser` refuses. */
export const DELETED_USERS = new Set(['ghost']);

/** The test app: the library with a small gateway, options overridable per spec. */
@Module({})
export class TestAppModule {
  static register(
    overrides: Partial<WsMiddlewareModuleOptions> = {},
  ): DynamicModule {
    return {
      module: TestAppModule,
      imports: [
        ThrottlerModule.forRoot([
          { name: 'default', ttl: 60_000, limit: 1000 },
        ]),
        WsMiddlewareModule.forRoot({
          jwtSecret: TEST_SECRET,
          validateUser: (claims) =>
            Promise.resolve(
              DELETED_USERS.has(claims.sub) ? null : { id: claims.sub },
            ),
          connectionMiddleware: [TestRoomMiddleware],
          advertisedLimits: { rateLimitPerMinute: 3 },
          logConnections: false,
          ...overrides,
        }),
      ],
      providers: [TestGateway, TestRoomMiddleware],
    };
  }
}
