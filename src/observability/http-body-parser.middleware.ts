import { Injectable, type NestMiddleware } from '@nestjs/common';
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';

/**
 * The JSON and form body parsers Nest would register itself (same defaults: 100 KB limit,
 * extended forms), applied after `HttpObservabilityMiddleware` so that their refusals (413, a
 * malformed body's 400) carry `X-Process-Time` and `X-Request-Id` like every other response.
 * The application is created with `bodyParser: false` (see `APP_HTTP_OPTIONS`); where it is not,
 * Nest's parsers have read the body already and these pass the request on.
 */
@Injectable()
export class HttpBodyParserMiddleware implements NestMiddleware {
  private readonly json: RequestHandler = express.json();
  private readonly form: RequestHandler = express.urlencoded({
    extended: true,
  });

  use(request: Request, response: Response, next: NextFunction): void {
    this.json(request, response, (error?: unknown) => {
      if (error !== undefined) {
        next(error);
        return;
      }
      this.form(request, response, next);
    });
  }
}
