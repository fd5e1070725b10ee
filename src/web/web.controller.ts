import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import {
  loadWebAsset,
  WEB_ASSET_TYPES,
  WEB_SECURITY_HEADERS,
} from './web-assets.js';

/** The script and style of the browser chat (the page itself is `GET /` with `Accept: text/html`). */
@Controller('web')
export class WebController {
  @Get(':file')
  async asset(
    @Param('file') file: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<string> {
    if (file === 'index.html' || !Object.hasOwn(WEB_ASSET_TYPES, file)) {
      throw new NotFoundException();
    }
    const asset = await loadWebAsset(file);
    response.set(WEB_SECURITY_HEADERS).type(asset.contentType);
    return asset.body;
  }
}
