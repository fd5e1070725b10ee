import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Label of events that have no handler, so that hostile clients cannot grow the series count. */
export const UNKNOWN_EVENT_LABEL = 'unknown';

/** Seconds, from 100 µs to 5 s. */
const DURATION_BUCKETS = [
  0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5,
];

/** The numbers behind `GET /stats`. */
export interface WsStatsSnapshot {
  connections: number;
  messagesReceived: number;
  messagesSent: number;
}

/**
 * WebSocket metrics in Prometheus form, fed by the adapter. Hot-path counts are plain numbers,
 * copied into the prom-client metrics only when they are collected (a scrape).
 *
 * @publicApi
 */
@Injectable()
export class WsMetricsService {
  /** The registry holding the `ws_*` metrics; merge it with yours to expose them. */
  readonly registry = new Registry();

  private active = 0;
  private received = 0;
  private sent = 0;
  private readonly receivedByEvent = new Map<string, number>();
  private readonly durationByEvent = new Map<
    string,
    { observe(value: number): void }
  >();

  private readonly connectionsTotal = new Counter({
    name: 'ws_connections_total',
    help: 'WebSocket connection attempts by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  private readonly rateLimited = new Counter({
    name: 'ws_rate_limited_total',
    help: 'Messages refused with RATE_LIMITED',
    registers: [this.registry],
  });
  private readonly authFailures = new Counter({
    name: 'ws_auth_failures_total',
    help: 'WebSocket connections refused by authentication, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly handlerDuration = new Histogram({
    name: 'ws_handler_duration_seconds',
    help: 'Time from a frame being dispatched to its reply, by event',
    labelNames: ['event'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });

  /** Only with `WsTimingInterceptor`: what runs inside it (pipes and the handler), by event. */
  private readonly handlerExecution = new Histogram({
    name: 'ws_handler_execution_seconds',
    help: 'Time inside WsTimingInterceptor (pipes and handler), by event',
    labelNames: ['event'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new Gauge({
      name: 'ws_connections_active',
      help: 'Open WebSocket connections (accepted or being authenticated)',
      registers: [this.registry],
      collect() {
        this.set(self.active);
      },
    });
    const receivedSynced = new Map<string, number>();
    new Counter({
      name: 'ws_messages_received_total',
      help: 'Frames received from clients, by event (unknown for unregistered events)',
      labelNames: ['event'] as const,
      registers: [this.registry],
      collect() {
        for (const [event, count] of self.receivedByEvent) {
          const delta = count - (receivedSynced.get(event) ?? 0);
          if (delta > 0) {
            this.inc({ event }, delta);
            receivedSynced.set(event, count);
          }
        }
      },
    });
    let sentSynced = 0;
    new Counter({
      name: 'ws_messages_sent_total',
      help: 'Frames sent to clients',
      registers: [this.registry],
      collect() {
        const delta = self.sent - sentSynced;
        if (delta > 0) {
          this.inc(delta);
          sentSynced = self.sent;
        }
      },
    });
  }

  connectionOpened(): void {
    this.active++;
  }

  connectionClosed(): void {
    this.active--;
  }

  connectionResult(result: string): void {
    this.connectionsTotal.inc({ result });
  }

  authFailed(reason: string): void {
    this.authFailures.inc({ reason });
  }

  frameReceived(event: string): void {
    this.received++;
    this.receivedByEvent.set(event, (this.receivedByEvent.get(event) ?? 0) + 1);
  }

  framesSent(count: number): void {
    this.sent += count;
  }

  rateLimitedReply(): void {
    this.rateLimited.inc();
  }

  handlerDone(event: string, seconds: number): void {
    let child = this.durationByEvent.get(event);
    if (!child) {
      child = this.handlerDuration.labels({ event });
      this.durationByEvent.set(event, child);
    }
    child.observe(seconds);
  }

  snapshot(): WsStatsSnapshot {
    return {
      connections: this.active,
      messagesReceived: this.received,
      messagesSent: this.sent,
    };
  }

  /** A handler's own duration, from `WsTimingInterceptor` (`ws_handler_execution_seconds`). */
  handlerExecuted(event: string, seconds: number): void {
    this.handlerExecution.observe({ event }, seconds);
  }
}
