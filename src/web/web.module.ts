import { Module } from '@nestjs/common';
import { WebController } from './web.controller.js';

/** The browser chat's static files; `AppController.root` serves its page. */
@Module({
  controllers: [WebController],
})
export class WebModule {}
