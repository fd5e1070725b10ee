import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/**
 * Answers CORS preflights with 204. The CORS middleware (`app.enableCors` with
 * `preflightContinue`) only sets the `Access-Control-*` headers and passes the preflight on, so
 * that it reaches `HttpObservabilityMiddleware` and carries `X-Process-Time` and `X-Request-Id`
 * too; this ends it after them. A disallowed origin gets the 204 without `Access-Control-Allow-Origin`,
 * which the browser treats as a refusal.
 */
@Injectable()
export class CorsPreflightMiddleware implements NestMiddleware {
  use(request: Request, response: Response, next: NextFunction): void {
    if (
      request.method === 'OPTIONS' &&
      request.headers.origin !== undefined &&
      request.headers['access-control-request-method'] !== undefined
    ) {
      response.statusCode = 204;
      response.setHeader('Content-Length', '0');
      response.end();
      return;
    }
    next();
  }
}
