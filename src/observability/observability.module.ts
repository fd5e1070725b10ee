import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { RedisHealthIndicator } from '../cluster/redis.health.js';
import { HealthController } from './health.controller.js';
import { HttpMetricsService } from './http-metrics.service.js';
import { HttpObservabilityMiddleware } from './http-observability.middleware.js';
import { MetricsController } from './metrics.controller.js';

/** Metrics, health and the HTTP timing middleware. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [MetricsController, HealthController],
  providers: [
    HttpMetricsService,
    HttpObservabilityMiddleware,
    RedisHealthIndicator,
  ],
  exports: [HttpMetricsService, HttpObservabilityMiddleware],
})
export class ObservabilityModule {}
