import { Injectable } from '@nestjs/common';
import { WsMetricsService } from '@app/ws-middleware';
import {
  collectDefaultMetrics,
  Histogram,
  register,
  Registry,
} from 'prom-client';

/**
 * The app's Prometheus registry: default Node.js process metrics, `http_request_duration_seconds`
 * and the library's `ws_*` metrics, exposed together at `GET /metrics`.
 */
@Injectable()
export class HttpMetricsService {
  private readonly own = new Registry();
  /** Everything `GET /metrics` shows. */
  readonly registry: Registry;
  private readonly duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.own],
  });

  constructor(wsMetrics: WsMetricsService) {
    collectDefaultMetrics({ register: this.own });
    // The default registry holds the cluster counters.
    this.registry = Registry.merge([this.own, wsMetrics.registry, register]);
  }

  /** Records one request; `route` is the route template (never the raw URL). */
  observe(
    method: string,
    route: string,
    status: number,
    seconds: number,
  ): void {
    this.duration.observe({ method, route, status: String(status) }, seconds);
  }
}
