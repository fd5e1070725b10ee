import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { WsMetricsService } from '@app/ws-middleware';
import type { Response } from 'express';
import { collectDefaultMetrics, Registry } from 'prom-client';
import {
  CHAT_ENGINE,
  type ChatEngine,
} from './chat/engine/chat-engine.interface.js';

/** `GET /`, `GET /stats`, `GET /metrics`. */
@Controller()
export class AppController {
  private readonly metricsRegistry: Registry;

  constructor(
    private readonly wsMetrics: WsMetricsService,
    @Inject(CHAT_ENGINE) private readonly engine: ChatEngine,
  ) {
    const processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
    this.metricsRegistry = Registry.merge([processMetrics, wsMetrics.registry]);
  }

  @Get()
  root(): { message: string; instructions: string } {
    return {
      message: 'WebSocket Chat API is running',
      instructions:
        'Get a token via POST /token (form fields username, password), then connect to /ws/{room}?token=your_token',
    };
  }

  @Get('stats')
  async stats(): Promise<Record<string, number>> {
    const ws = this.wsMetrics.snapshot();
    const [rooms, onlineUsers] = await Promise.all([
      this.engine.listRooms(),
      this.engine.onlineUsers(),
    ]);
    return { ...ws, rooms: rooms.length, onlineUsers };
  }

  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async metrics(@Res() response: Response): Promise<void> {
    response.type(this.metricsRegistry.contentType);
    response.send(await this.metricsRegistry.metrics());
  }
}
