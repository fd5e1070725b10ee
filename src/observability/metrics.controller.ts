import { Controller, Get, Header, Res } from '@nestjs/common';
import type { Response } from 'express';
import { HttpMetricsService } from './http-metrics.service.js';

/** `GET /metrics`: Prometheus text format. */
@Controller()
export class MetricsController {
  constructor(private readonly metrics: HttpMetricsService) {}

  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async metricsText(@Res() response: Response): Promise<void> {
    response.type(this.metrics.registry.contentType);
    response.send(await this.metrics.registry.metrics());
  }
}
