import { Controller, Get, Inject } from '@nestjs/common';
import { WsMetricsService } from '@app/ws-middleware';
import {
  CHAT_ENGINE,
  type ChatEngine,
} from './chat/engine/chat-engine.interface.js';

/** `GET /` and `GET /stats`. */
@Controller()
export class AppController {
  constructor(
    private readonly wsMetrics: WsMetricsService,
    @Inject(CHAT_ENGINE) private readonly engine: ChatEngine,
  ) {}

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
}
