import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { WsConnectionContext } from '../interfaces/ws-connection-context.interface.js';
import type { ResolvedWsMiddlewareOptions } from '../utils/resolve-options.util.js';
import { WS_RESOLVED_OPTIONS } from '../utils/resolved-options.token.js';
import { WsCloseCode, WsCloseReason } from '../ws-middleware.constants.js';
import {
  WsConnection,
  type WsConnectionDeps,
} from '../adapters/ws-connection.js';
import { WsPreparedFrame } from '../adapters/ws-prepared-frame.js';
import { WsMetricsService } from './ws-metrics.service.js';
import { WsTokenVerifier } from './ws-token-verifier.service.js';

/**
 * Every connection of this process: capacity, the one shared heartbeat timer and the graceful
 * shutdown. Apps use it to look connections up and to serialize broadcasts once.
 *
 * @publicApi
 */
@Injectable()
export class WsConnectionRegistry implements OnApplicationShutdown {
  private readonly logger = new Logger('WsMiddleware');
  private readonly connections = new Set<WsConnection>();
  private readonly pendingHooks = new Set<Promise<unknown>>();
  private heartbeat: NodeJS.Timeout | undefined;
  private draining = false;
  /** @internal Shared by every connection of this process. */
  readonly deps: WsConnectionDeps;

  constructor(
    @Inject(WS_RESOLVED_OPTIONS) readonly options: ResolvedWsMiddlewareOptions,
    readonly metrics: WsMetricsService,
    verifier: WsTokenVerifier,
  ) {
    this.deps = {
      options,
      metrics,
      verifier,
      logger: this.logger,
      debug: Logger.isLevelEnabled('debug'),
      trackHook: (pending) => {
        this.pendingHooks.add(pending);
        void pending.finally(() => this.pendingHooks.delete(pending));
      },
      turn: () => {
        this.endTurnLater();
        return this.turnNumber;
      },
      releaseAfterTurn: (connection) => {
        this.holding.push(connection);
        this.endTurnLater();
      },
    };
  }

  /** Counts event-loop turns (for per-turn budgets) and holds writes until a turn ends. */
  private turnNumber = 0;
  private turnEnding = false;
  /** Connections whose writes wait for the end of this turn (see `WsConnection.releaseWrites`). */
  private holding: WsConnection[] = [];

  /** One immediate per turn for every connection that needs one, not one per socket. */
  private endTurnLater(): void {
    if (!this.turnEnding) {
      this.turnEnding = true;
      setImmediate(this.endTurn);
    }
  }

  private readonly endTurn = (): void => {
    this.turnEnding = false;
    this.turnNumber++;
    const held = this.holding;
    this.holding = [];
    for (const connection of held) {
      connection.releaseWrites();
    }
  };

  /** Open connections (including those still being authenticated). */
  get size(): number {
    return this.connections.size;
  }

  /** Whether shutdown has begun: new upgrades are refused. */
  get isDraining(): boolean {
    return this.draining;
  }

  /** Serializes `{event, data}` once, for `sendFrame` to many connections. */
  serialize(event: string, data: unknown): string {
    return JSON.stringify({ event, data });
  }

  /** Frames a serialized text once for many `sendFrame` calls (a broadcast). */
  prepare(frame: string): WsPreparedFrame {
    return new WsPreparedFrame(frame);
  }

  /** Every open connection. */
  all(): IterableIterator<WsConnectionContext> {
    return this.connections.values();
  }

  /** @internal Called by the adapter. */
  add(connection: WsConnection): void {
    this.connections.add(connection);
    this.metrics.connectionOpened();
    this.startHeartbeat();
  }

  /** @internal Called by the adapter. */
  remove(connection: WsConnection): void {
    if (this.connections.delete(connection)) {
      this.metrics.connectionClosed();
    }
  }

  /**
   * Shutdown: refuses new upgrades, closes every client 1001, waits (bounded by
   * `shutdownTimeoutMs`) for the closes and the close hooks, then terminates stragglers.
   */
  async drain(): Promise<void> {
    this.draining = true;
    this.stopHeartbeat();
    const closed = [...this.connections].map(
      (connection) =>
        new Promise<void>((resolve) => {
          if (connection.socket.readyState === connection.socket.CLOSED) {
            resolve();
            return;
          }
          connection.socket.once('close', () => resolve());
          connection.close(WsCloseCode.GOING_AWAY, WsCloseReason.SHUTTING_DOWN);
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.shutdownTimeoutMs);
    });
    await Promise.race([
      Promise.all(closed).then(() => Promise.allSettled(this.pendingHooks)),
      timeout,
    ]);
    clearTimeout(timer);
    for (const connection of this.connections) {
      connection.terminate();
    }
  }

  onApplicationShutdown(): void {
    this.stopHeartbeat();
  }

  private startHeartbeat(): void {
    if (this.heartbeat || this.options.heartbeatMs === 0 || this.draining) {
      return;
    }
    this.heartbeat = setInterval(() => this.beat(), this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private beat(): void {
    for (const connection of this.connections) {
      if (connection.missedPongs >= 2) {
        connection.terminate();
        continue;
      }
      connection.missedPongs++;
      if (connection.socket.readyState === connection.socket.OPEN) {
        connection.socket.ping();
      }
    }
  }
}
