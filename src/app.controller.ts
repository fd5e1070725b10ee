import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { WsMetricsService } from '@app/ws-middleware';
import {
  CHAT_ENGINE,
  type ChatEngine,
} from './chat/engine/chat-engine.interface.js';
import {
  acceptsHtml,
  loadWebAsset,
  WEB_SECURITY_HEADERS,
} from './web/web-assets.js';

/** `GET /` and `GET /stats`. */
@Controller()
export class AppController {
  constructor(
    private readonly wsMetrics: WsMetricsService,
    @Inject(CHAT_ENGINE) private readonly engine: ChatEngine,
  ) {}

  /** The JSON of PROTOCOL.md, or the browser chat page when `Accept` lists `text/html`. */
  @Get()
  async root(
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<{ message: string; instructions: string } | string> {
    response.vary('Accept');
    if (acceptsHtml(accept)) {
      const page = await loadWebAsset('index.html');
      response.set(WEB_SECURITY_HEADERS).type(page.contentType);
      return page.body;
    }
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
