// (2) What Nest users have today: `@nestjs/platform-ws` `WsAdapter` and a gateway with an `echo`
// handler, no guards, interceptors, pipes or filters. The stock adapter hands the handler only
// `data` and sends back whatever it returns, so the client puts `id` inside `data` (same bytes
// on the wire) and the handler returns the same `{event, id, data}` reply as the other servers.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import {
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';

interface EchoBody {
  id: number;
  text: string;
}

@WebSocketGateway({ path: '/ws' })
class EchoGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() body: EchoBody) {
    return { event: 'echo', id: body.id, data: { text: body.text } };
  }
}

@Module({ providers: [EchoGateway] })
class BareNestModule {}

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(BareNestModule, {
    logger: ['fatal', 'error', 'warn', 'log'],
  });
  app.useWebSocketAdapter(new WsAdapter(app));
  await app.listen(Number(process.env.PORT ?? 3002), '127.0.0.1');
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
