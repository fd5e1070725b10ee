import { SetMetadata } from '@nestjs/common';
import { WS_PUBLIC_KEY } from '../ws-middleware.constants.js';

/**
 * Marks a handler (or gateway) as not needing `WsAuthGuard`.
 *
 * @publicApi
 */
export const WsPublic = (): MethodDecorator & ClassDecorator =>
  SetMetadata(WS_PUBLIC_KEY, true);
