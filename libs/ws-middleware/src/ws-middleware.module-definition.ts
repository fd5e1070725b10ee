import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { WsMiddlewareModuleOptions } from './interfaces/ws-middleware-options.interface.js';

export const {
  ConfigurableModuleClass: WsMiddlewareConfigurableModule,
  MODULE_OPTIONS_TOKEN: WS_MIDDLEWARE_OPTIONS,
  OPTIONS_TYPE: WS_MIDDLEWARE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: WS_MIDDLEWARE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<WsMiddlewareModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
