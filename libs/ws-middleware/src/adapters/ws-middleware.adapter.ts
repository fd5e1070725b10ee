import type { INestApplicationContext } from '@nestjs/common';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { WsAdapter } from '@nestjs/platform-ws';
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Observable } from 'rxjs';
import type { WebSocket, WebSocketServer } from 'ws';
import { WsConnectionRefusedError } from '../errors/ws-connection-refused.error.js';
import { WsConnectionPipeline } from '../services/ws-connection-pipeline.service.js';
import { WsConnectionRegistry } from '../services/ws-connection-registry.service.js';
import { WsUpgradePolicy } from '../services/ws-upgrade-policy.service.js';
import { describeException } from '../utils/ws-error-payload.util.js';
import { WsCloseCode, WsCloseReason } from '../ws-middleware.constants.js';
import {
  connectionOf,
  WsConnection,
  type WsBoundHandler,
} from './ws-connection.js';

/** The `ws` server Nest creates for a gateway, with the gateway's path. */
export type PathedServer = WebSocketServer & { path: string };
type UpgradeListener = (
  request: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
) => void;

interface Services {
  registry: WsConnectionRegistry;
  pipeline: WsConnectionPipeline;
  policy: WsUpgradePolicy;
}

/**
 * The `WsAdapter` to install with `app.useWebSocketAdapter(new WsMiddlewareAdapter(app))`. It runs
 * the connect-time pipeline at the upgrade (origin, handshake rate, capacity, auth, limits), queues
 * frames until the connection is accepted, dispatches the `{event, data, id}` envelope with exactly
 * one reply per request, and closes clients with 1001 on shutdown.
 *
 * A gateway at path `/ws` also serves `/ws/<rest>`; `<rest>` (decoded, possibly empty or with
 * slashes) is `connection.subPath`, for connection middleware to accept or refuse.
 *
 * @publicApi
 */
export class WsMiddlewareAdapter extends WsAdapter {
  private services: Services | undefined;
  private readonly upgradeListeners = new Map<http.Server, UpgradeListener>();

  constructor(private readonly app: INestApplicationContext) {
    super(app);
  }

  create(
    port: number,
    options: Record<string, unknown> & { path?: string } = {},
  ): unknown {
    const { registry } = this.resolve();
    const { maxMessageBytes } = registry.options;
    return super.create(port, {
      ...options,
      maxPayload: maxMessageBytes,
      maxFragments: maxFragmentsFor(maxMessageBytes),
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (protocols: Set<string>) =>
        [...protocols].find(
          (protocol) => protocol.toLowerCase() === 'bearer',
        ) ?? false,
    });
  }

  /** Server errors are logged; per-socket errors (bad frames from clients) are not, to keep logs unfloodable. */
  bindErrorHandler(server: PathedServer): PathedServer {
    server.on('error', (error: Error) => this.logger.error(error));
    return server;
  }

  bindClientConnect(
    server: PathedServer,
    callback: (...args: unknown[]) => void,
  ): void {
    server.on(
      'connection',
      (socket: WebSocket, request: http.IncomingMessage) =>
        this.onConnection(server, socket, request, callback),
    );
  }

  bindMessageHandlers(
    client: WebSocket,
    handlers: MessageMappingProperties[],
    _transform: (data: unknown) => Observable<unknown>,
  ): void {
    const connection = connectionOf(client);
    if (!connection) {
      return;
    }
    const map = new Map<string, WsBoundHandler>();
    for (const handler of handlers) {
      map.set(String(handler.message), handler.callback as WsBoundHandler);
    }
    connection.bindHandlers(map);
  }

  async close(server: PathedServer): Promise<void> {
    await this.resolve().registry.drain();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async dispose(): Promise<void> {
    for (const [httpServer, listener] of this.upgradeListeners) {
      httpServer.off('upgrade', listener);
    }
    this.upgradeListeners.clear();
    await super.dispose();
  }

  protected ensureHttpServerExists(
    port: number,
    httpServer: http.Server = http.createServer(),
  ): http.Server | undefined {
    if (this.httpServersRegistry.has(port)) {
      return undefined;
    }
    this.httpServersRegistry.set(port, httpServer);
    const listener: UpgradeListener = (request, socket, head) => {
      upgradeStartedAt.set(request, process.hrtime.bigint());
      socket.on('error', () => socket.destroy());
      this.onUpgrade(port, request, socket, head).catch(() => socket.destroy());
    };
    httpServer.on('upgrade', listener);
    this.upgradeListeners.set(httpServer, listener);
    return httpServer;
  }

  private resolve(): Services {
    this.services ??= {
      registry: this.app.get(WsConnectionRegistry, { strict: false }),
      pipeline: this.app.get(WsConnectionPipeline, { strict: false }),
      policy: this.app.get(WsUpgradePolicy, { strict: false }),
    };
    return this.services;
  }

  private async onUpgrade(
    port: number,
    request: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): Promise<void> {
    const { registry, policy } = this.resolve();
    const server = this.findServer(port, request.url ?? '/');
    if (!server) {
      refuseUpgrade(request, socket, 404, 'Not Found');
      return;
    }
    if (registry.isDraining) {
      refuseUpgrade(request, socket, 503, 'Service Unavailable');
      return;
    }
    const refusal = await policy.check(request);
    if (refusal) {
      refuseUpgrade(
        request,
        socket,
        refusal.status,
        refusal.message,
        refusal.headers,
      );
      return;
    }
    if (socket.destroyed) {
      return;
    }
    // Corked until the end of the turn, so the 101 and the welcome go out in one write.
    socket.cork();
    let client: WebSocket | undefined;
    server.handleUpgrade(request, socket, head, (ws) => {
      client = ws;
      server.emit('connection', ws, request);
    });
    const connection = connectionOf(client);
    if (connection) {
      connection.adoptCork();
    } else {
      socket.uncork();
    }
  }

  private findServer(port: number, url: string): PathedServer | undefined {
    let pathname: string;
    try {
      pathname = new URL(url, 'ws://localhost').pathname;
    } catch {
      return undefined;
    }
    const servers = (this.wsServersRegistry.get(port) ?? []) as PathedServer[];
    // The exact path first, then the gateway whose path is the longest prefix: whatever follows
    // it (empty, or with more slashes) is `connection.subPath`, for the app to accept or refuse.
    const exact = servers.find((server) => server.path === pathname);
    if (exact) {
      return exact;
    }
    let best: PathedServer | undefined;
    for (const server of servers) {
      const base = server.path.endsWith('/') ? server.path : `${server.path}/`;
      if (
        pathname.startsWith(base) &&
        (!best || server.path.length > best.path.length)
      ) {
        best = server;
      }
    }
    return best;
  }

  private onConnection(
    server: PathedServer,
    socket: WebSocket,
    request: http.IncomingMessage,
    accept: (...args: unknown[]) => void,
  ): void {
    const { registry, pipeline } = this.resolve();
    const connection = new WsConnection(
      socket,
      request,
      server.path,
      registry.deps,
    );
    registry.add(connection);
    socket.on('message', (data, isBinary) =>
      connection.onFrame(data, isBinary),
    );
    socket.on('pong', () => {
      connection.missedPongs = 0;
    });
    socket.on('error', () => undefined);
    socket.once('close', (code: number, reason: Buffer) => {
      registry.remove(connection);
      connection.onClosed(code, reason.toString());
    });
    pipeline
      .run(connection, () => {
        if (!connection.isOpen) {
          throw new WsConnectionRefusedError(WsCloseCode.NORMAL, '');
        }
        registry.metrics.connectionResult('accepted');
        connection.welcome();
        accept(socket, request);
        if (registry.options.logConnections) {
          this.logger.log(
            `open id=${connection.id} user=${connection.userLabel} ip=${connection.ip} path=${connection.path}`,
          );
        }
      })
      .then(
        () => connection.start(),
        (error: unknown) => {
          if (error instanceof WsConnectionRefusedError) {
            registry.metrics.connectionResult(
              error.code === WsCloseCode.TRY_AGAIN_LATER
                ? 'overloaded'
                : 'refused',
            );
            connection.close(error.code, error.reason);
            return;
          }
          this.logger.error(
            `connection pipeline failed id=${connection.id} user=${connection.userLabel}`,
            describeException(error),
          );
          connection.close(
            WsCloseCode.INTERNAL_ERROR,
            WsCloseReason.INTERNAL_ERROR,
          );
        },
      );
  }
}

/**
 * Fragments one message may arrive in (then close 1008). Each buffered fragment costs about 110
 * bytes of heap however small it is, so `ws`'s default of 16384 lets 112 KB of one-byte fragments
 * hold 1.8 MB; at one fragment per 256 bytes of `maxMessageBytes` (256 at the 64 KB default), the
 * overhead stays below the largest message itself, and no browser fragments what it sends.
 */
function maxFragmentsFor(maxMessageBytes: number): number {
  return Math.max(16, Math.ceil(maxMessageBytes / 256));
}

/** When each upgrade request reached the adapter, for `X-Process-Time` on a refusal. */
const upgradeStartedAt = new WeakMap<http.IncomingMessage, bigint>();
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Answers an upgrade with an HTTP error, with the headers every HTTP response of a Nest app
 * usually carries: `X-Request-Id` (a sane incoming one echoed, else a new one) and
 * `X-Process-Time` (seconds since the upgrade request arrived).
 */
function refuseUpgrade(
  request: http.IncomingMessage,
  socket: Duplex,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (socket.destroyed) {
    return;
  }
  const incoming = request.headers['x-request-id'];
  const requestId =
    typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming)
      ? incoming
      : randomUUID();
  const started = upgradeStartedAt.get(request) ?? process.hrtime.bigint();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const body = `${message}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? message}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${requestId}`,
    `X-Process-Time: ${seconds.toFixed(6)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}
