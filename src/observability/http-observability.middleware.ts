import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import responseTime from 'response-time';
import { HttpMetricsService } from './http-metrics.service.js';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const KNOWN_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
]);

/**
 * HTTP middleware (the seed's `X-Process-Time`): `X-Process-Time` in seconds from a monotonic
 * high-resolution clock, `X-Request-Id` (a sane incoming one echoed, else generated), and the
 * `http_request_duration_seconds` histogram labelled by route template.
 */
@Injectable()
export class HttpObservabilityMiddleware implements NestMiddleware {
  private readonly timing = responseTime((request, response, milliseconds) => {
    const seconds = milliseconds / 1000;
    response.setHeader('X-Process-Time', seconds.toFixed(6));
    const req = request as Request;
    const route = req.route
      ? `${req.baseUrl}${String((req.route as { path: string }).path)}`
      : 'unmatched';
    const method = KNOWN_METHODS.has(req.method) ? req.method : 'OTHER';
    this.metrics.observe(method, route, response.statusCode, seconds);
  });

  constructor(private readonly metrics: HttpMetricsService) {}

  use(request: Request, response: Response, next: NextFunction): void {
    const incoming = request.headers['x-request-id'];
    const id =
      typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming)
        ? incoming
        : randomUUID();
    response.setHeader('X-Request-Id', id);
    this.timing(request, response, next);
  }
}
