import { WsMetricsService, type WsTransformMeta } from '@app/ws-middleware';
import { CapturingLogger } from './support/capturing-logger.js';
import { eventually } from './support/security.js';
import { signToken } from './support/tokens.js';
import { startTestApp, type RunningTestApp } from './support/test-app.js';
import { WsTestClient } from './support/ws-test-client.js';

/** The transform hook and the logging of connections and messages, on the test gateway. */
describe('WsMiddlewareModule hooks and logs (e2e)', () => {
  const clients: WsTestClient[] = [];
  const connect = async (
    server: RunningTestApp,
    user: string,
  ): Promise<WsTestClient> => {
    const client = new WsTestClient(`${server.url()}?token=${signToken(user)}`);
    clients.push(client);
    await client.next('welcome');
    return client;
  };

  afterEach(() => {
    for (const client of clients.splice(0)) {
      client.socket.terminate();
    }
  });

  describe('transform hook', () => {
    let server: RunningTestApp;
    const seen: { event: string; user: string | undefined }[] = [];

    beforeAll(async () => {
      server = await startTestApp({
        transform: (data: unknown, meta: WsTransformMeta) => {
          seen.push({ event: meta.event, user: meta.connection.user?.id });
          if (meta.event !== 'echo' || typeof data !== 'object' || !data) {
            return data;
          }
          const text = (data as { text?: unknown }).text;
          return {
            ...data,
            text: typeof text === 'number' ? String(text) : text,
            shout: typeof text === 'string' ? text.toUpperCase() : undefined,
          };
        },
      });
    });

    afterAll(async () => {
      await server.app.close();
    });

    it('rewrites data before validation, with the event and the connection', async () => {
      const client = await connect(server, 'tara');
      // A number fails EchoDto; the hook makes it a string first, so it passes.
      expect((await client.request('echo', { text: 42 })).data).toEqual({
        text: '42',
        dto: true,
      });
      expect((await client.request('ping', {})).event).toBe('ping');
      expect(seen).toEqual([
        { event: 'echo', user: 'tara' },
        { event: 'ping', user: 'tara' },
      ]);
    });

    it('is not run for frames that are refused before dispatch', async () => {
      const client = await connect(server, 'uma');
      seen.length = 0;
      client.sendRaw('not json');
      expect((await client.next('exception')).data.code).toBe('BAD_REQUEST');
      expect((await client.request('nope', {})).data.code).toBe(
        'UNKNOWN_EVENT',
      );
      expect(seen).toEqual([]);
    });
  });

  describe('logs', () => {
    let server: RunningTestApp;
    const logger = new CapturingLogger({
      logLevels: ['fatal', 'error', 'warn', 'log', 'debug'],
    });

    beforeAll(async () => {
      server = await startTestApp({ logConnections: true }, logger);
    });

    afterAll(async () => {
      await server.app.close();
    });

    it('logs open and close (duration, close code) and each message (event, outcome, duration) with connection id and user', async () => {
      const client = await connect(server, 'vera');
      const id = String((await client.request('whoami', {})).data.connectionId);
      expect((await client.request('forbidden', {})).data.code).toBe(
        'FORBIDDEN',
      );
      client.socket.close(4000, 'bye');
      await client.waitClosed();
      await eventually(
        () =>
          logger.lines.some((line) => line.startsWith(`log closed id=${id}`)),
        'the close to be logged',
      );

      const lines = logger.lines.filter((line) => line.includes(`id=${id}`));
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            new RegExp(
              `^log open id=${id} user=vera ip=127\\.0\\.0\\.1 path=/ws`,
            ),
          ),
          expect.stringMatching(
            new RegExp(
              `^debug message id=${id} user=vera event=whoami outcome=ok duration=\\d`,
            ),
          ),
          expect.stringMatching(
            new RegExp(
              `^debug message id=${id} user=vera event=forbidden outcome=error duration=\\d`,
            ),
          ),
          expect.stringMatching(
            new RegExp(
              `^log closed id=${id} user=vera code=4000 reason="bye" duration=\\d+\\.\\d{3}s`,
            ),
          ),
        ]),
      );
    });

    // With @UseInterceptors() Nest's handler resolves to an Observable: the reply is what it
    // emits (it once was the Observable itself, serialized, and the handler never ran).
    it('runs a handler behind WsLoggingInterceptor and logs its event, outcome and duration', async () => {
      const client = await connect(server, 'wren');
      const id = String((await client.request('whoami', {})).data.connectionId);
      expect((await client.request('logged', { text: 'ok' })).data).toEqual({
        text: 'ok',
      });
      expect((await client.request('logged', { text: 'fail' })).data.code).toBe(
        'FORBIDDEN',
      );
      expect(logger.lines.filter((line) => line.includes(`id=${id}`))).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            new RegExp(
              `^log id=${id} user=wren event=logged outcome=ok duration=\\d+\\.\\d{3}ms WsMessages$`,
            ),
          ),
          expect.stringMatching(
            new RegExp(
              `^log id=${id} user=wren event=logged outcome=error duration=\\d+\\.\\d{3}ms WsMessages$`,
            ),
          ),
        ]),
      );
    });

    it('runs an async handler behind WsTimingInterceptor, timed once in each histogram', async () => {
      const client = await connect(server, 'wren');
      expect((await client.request('timed', { text: 'tick' })).data).toEqual({
        text: 'tick',
      });
      expect((await client.request('timed', { text: '' })).data.code).toBe(
        'VALIDATION_FAILED',
      );
      const metrics = await server.app.get(WsMetricsService).registry.metrics();
      // Every request, from dispatch to reply, by the adapter.
      expect(metrics).toMatch(
        /^ws_handler_duration_seconds_count\{event="timed"\} 2$/m,
      );
      // By the interceptor, in its own histogram (pipes and handler run inside it).
      expect(metrics).toMatch(
        /^ws_handler_execution_seconds_count\{event="timed"\} 2$/m,
      );
    });
  });
});
