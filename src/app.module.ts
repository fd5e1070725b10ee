import { Module } from '@nestjs/common';
import { WsMiddlewareModule } from '@app/ws-middleware';

/** Composition root of the reference chat server. */
@Module({ imports: [WsMiddlewareModule] })
export class AppModule {}
