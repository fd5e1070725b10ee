import { Injectable, Logger, type NestMiddleware } from '@nestjs/common';
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
/** Query parameters whose value is a credential (`?token=` is a WebSocket token carrier). */
const SECRET_QUERY_KEYS = new Set(['token', 'access_token']);
/** Longest URL written to the access log, so a client cannot flood it. */
const MAX_LOGGED_URL = 512;

/**
 * The request URL as the access log shows it: the value of every `token` / `access_token` query
 * parameter replaced by `[REDACTED]` (the rest untouched), cut to a bounded length.
 */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  let redacted = url;
  if (queryStart !== -1) {
    const pairs = url
      .slice(queryStart + 1)
      .split('&')
      .map((pair) => {
        const equals = pair.indexOf('=');
        const rawKey = equals === -1 ? pair : pair.slice(0, equals);
        let key: string;
        try {
          key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
        } catch {
          key = rawKey;
        }
        return SECRET_QUERY_KEYS.has(key.trim().toLowerCase())
          ? `${rawKey}=[REDACTED]`
          : pair;
      });
    redacted = `${url.slice(0, queryStart)}?${pairs.join('&')}`;
  }
  return redacted.length > MAX_LOGGED_URL
    ? `${redacted.slice(0, MAX_LOGGED_URL)}...`
    : redacted;
}

/**
 * HTTP middleware (the seed's `X-Process-Time`): `X-Process-Time` in seconds from a monotonic
 * high-resolution clock, `X-Request-Id` (a sane incoming one echoed, else generated), the
 * `http_request_duration_seconds` histogram labelled by route template, and one access-log line
 * per response (method, URL with query tokens redacted, status, duration, request id; no headers,
 * so no `Authorization`).
 */
@Injectable()
export class HttpObservabilityMiddleware implements NestMiddleware {
  private readonly logger = new Logger('HTTP');
  private readonly timing = responseTime((request, response, milliseconds) => {
    const seconds = milliseconds / 1000;
    response.setHeader('X-Process-Time', seconds.toFixed(6));
    const req = request as Request;
    const route = req.route
      ? `${req.baseUrl}${String((req.route as { path: string }).path)}`
      : 'unmatched';
    const method = KNOWN_METHODS.has(req.method) ? req.method : 'OTHER';
    this.metrics.observe(method, route, response.statusCode, seconds);
    this.logger.log(
      `${method} ${redactUrl(req.originalUrl)} ${response.statusCode} ${seconds.toFixed(6)}s id=${String(response.getHeader('X-Request-Id'))}`,
    );
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
