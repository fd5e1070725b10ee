// The in-process workload of `npm run bench:cost`, run under callgrind by bench/cost/run.mjs.
// It boots one of the benchmark servers as they are (bench/.build/bench/servers/*.server.js) on a
// free loopback port, opens ONE real connection to it from this process (for the full stack with
// a JWT, up to the welcome frame), pauses that client, pushes `--warmup` echo frames, then
// `--regions` regions of `--messages` frames, and exits once every reply has been written.
//
//   node bench/cost/harness.mjs --server=full|bare --warmup=W --messages=N --regions=R
//     [--check | --hold=FIFO]
//
// The frames are precomputed Buffers emitted as the server-side socket's 'message' event, which is
// what `ws` does when a frame arrives: neither the client nor `ws`'s frame parsing is counted,
// and the paused client never reads its replies (the kernel holds them: 2,600 replies, 290 KB).
// Everything that runs per message after that is counted: the adapter, Nest's guards, pipes and
// filters, the handler, JSON, the reply's framing and its write syscall (user space only), and the
// event-loop turn. One request is in flight: the next frame goes in once the previous reply has
// left the process, so each request takes one event-loop turn on both servers (as for a client
// that waits for each reply).
// Each region starts and ends with a mark (see `mark`). `--hold` blocks after the warm-up until
// run.mjs has turned instrumentation on. `--check` (run without valgrind) reads and compares every
// reply instead.
import { NestFactory } from '@nestjs/core';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { signToken } from '../lib/jwt.mjs';

const ROOT = path.resolve(fileURLToPath(import.meta.url), '../../..');
const SERVERS = {
  full: { file: 'full-stack.server.js', idInData: false, expect: 'welcome' },
  bare: { file: 'bare-nest.server.js', idInData: true, expect: 'open' },
};
// The same frames as bench/client.mjs: 256 ids of the same width, one text.
const TEXT =
  'The quick brown fox jumps over the lazy dog; pack my box with jugs';
const FRAME_IDS = 256;
const FIRST_ID = 100_000;
const IN_FLIGHT = 1;
const SECRET = 'bench-cost-fixed-secret-0123456789abcdef';
const WATCHDOG_MS = 10 * 60_000;

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: 'full' },
    warmup: { type: 'string', default: '400' },
    messages: { type: 'string', default: '200' },
    regions: { type: 'string', default: '1' },
    check: { type: 'boolean', default: false },
    hold: { type: 'string' },
  },
});
const server = SERVERS[values.server];
const warmup = Number(values.warmup);
const messages = Number(values.messages);
const regions = Number(values.regions);
if (
  !server ||
  ![warmup, messages, regions].every((n) => Number.isInteger(n) && n >= 0)
) {
  console.error(
    'usage: harness.mjs --server=full|bare --warmup=W --messages=N --regions=R [--check | --hold=FIFO]',
  );
  process.exit(2);
}

/**
 * Marks a region boundary: run.mjs starts callgrind with `--dump-before=uv_get_constrained_memory`,
 * so this call makes callgrind dump (and zero) its counters. Node calls it once at start-up too;
 * nothing else in these servers does.
 */
const mark = () => process.constrainedMemory();

function fail(message) {
  console.error(`bench:cost harness: ${message}`);
  process.exit(1);
}

process.on('uncaughtException', (error) => fail(error.stack ?? String(error)));
process.on('unhandledRejection', (error) =>
  fail(String(error?.stack ?? error)),
);
setTimeout(
  () => fail(`no result after ${WATCHDOG_MS / 1000} s`),
  WATCHDOG_MS,
).unref();

/**
 * Resolves with the app once the server module's bootstrap has called `app.listen`, and with the
 * server-side `ws` socket of each connection (through the adapter's public `bindClientConnect`
 * hook, registered after the adapter's own listener so that the server sees the usual order).
 */
function captureApp() {
  let booted;
  const listening = new Promise((resolve) => (booted = resolve));
  const sockets = [];
  const create = NestFactory.create;
  NestFactory.create = async function (...args) {
    const app = await create.apply(this, args);
    // Nest's app is a Proxy that ignores assignments, so wrap it in one more.
    const wrapped = {
      useWebSocketAdapter(adapter) {
        const bind = adapter.bindClientConnect;
        adapter.bindClientConnect = (wss, callback) => {
          bind.call(adapter, wss, callback);
          wss.on('connection', (ws) => sockets.push(ws));
        };
        return app.useWebSocketAdapter(adapter);
      },
      async listen(...listenArgs) {
        const result = await app.listen(...listenArgs);
        booted(app);
        return result;
      },
    };
    return new Proxy(app, {
      get: (target, prop) =>
        Object.hasOwn(wrapped, prop) ? wrapped[prop] : target[prop],
    });
  };
  return { listening, sockets };
}

/**
 * Resolves in the next event-loop turn, after the immediates that this turn's microtasks
 * scheduled (such as the adapter's end-of-turn write), so one turn per request suffices.
 */
const nextTurn = () =>
  new Promise((resolve) => process.nextTick(() => setImmediate(resolve)));

function frames() {
  return Array.from({ length: FRAME_IDS }, (_, i) => {
    const id = FIRST_ID + i;
    return Buffer.from(
      server.idInData
        ? `{"event":"echo","data":{"id":${id},"text":"${TEXT}"}}`
        : `{"event":"echo","id":${id},"data":{"text":"${TEXT}"}}`,
    );
  });
}

/** The reply every server sends to frame `i`. */
const replyOf = (i) =>
  `{"event":"echo","id":${FIRST_ID + (i % FRAME_IDS)},"data":{"text":"${TEXT}"}}`;
// Text frame from the server: 2 header bytes below 126 bytes of payload.
const REPLY_BYTES = 2 + Buffer.byteLength(replyOf(0));

async function connect(port) {
  const token = signToken(SECRET, 'cost-user');
  const client = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`, {
    perMessageDeflate: false,
  });
  await new Promise((resolve, reject) => {
    client.once('error', reject);
    client.once('close', (code, reason) =>
      reject(new Error(`closed ${code} ${reason.toString()}`)),
    );
    if (server.expect === 'welcome') {
      client.once('message', (data) => {
        if (!data.toString().startsWith('{"event":"welcome"')) {
          reject(new Error(`expected the welcome frame, got ${data}`));
        }
        resolve();
      });
    } else {
      client.once('open', resolve);
    }
  });
  return client;
}

async function main() {
  process.env.PORT = '0';
  process.env.JWT_SECRET = SECRET;
  const { listening, sockets } = captureApp();
  await import(
    pathToFileURL(path.join(ROOT, 'bench/.build/bench/servers', server.file))
      .href
  );
  const app = await listening;
  const httpServer = app.getHttpServer();
  let tcp;
  httpServer.once('connection', (socket) => (tcp = socket));
  const client = await connect(httpServer.address().port);
  await nextTurn();
  if (sockets.length !== 1 || !tcp) {
    fail(`expected one server-side socket, got ${sockets.length}`);
  }
  const [ws] = sockets;
  const payloads = frames();
  const replies = [];
  if (values.check) {
    client.on('message', (data) => replies.push(data.toString()));
  } else {
    client.pause();
  }

  let sent = 0;
  let turns = 0;
  // Replies that have left the process: handed to the kernel, not waiting in the (corked) stream.
  const flushed = () => tcp.bytesWritten - tcp.writableLength;
  /**
   * Pushes `count` frames, keeping at most IN_FLIGHT without a flushed reply, one check per
   * event-loop turn, until every reply has been written.
   */
  async function push(count) {
    const base = flushed();
    const limit = turns + count * 20 + 100;
    let pushed = 0;
    let done = 0;
    while (done < count) {
      while (pushed - done < IN_FLIGHT && pushed < count) {
        ws.emit('message', payloads[sent++ % FRAME_IDS], false);
        pushed++;
      }
      await nextTurn();
      if (++turns > limit) {
        fail(`${count} frames: only ${done} replies after ${turns} turns`);
      }
      done = Math.floor((flushed() - base) / REPLY_BYTES);
    }
    const bytes = flushed() - base;
    if (bytes !== count * REPLY_BYTES || ws.bufferedAmount !== 0) {
      fail(
        `${count} frames: ${bytes} bytes written (expected ${count * REPLY_BYTES}), ` +
          `${ws.bufferedAmount} still buffered`,
      );
    }
  }

  await push(warmup);
  if (values.hold) {
    // run.mjs now turns callgrind's instrumentation on (start-up and warm-up ran without it), then
    // opens this FIFO for writing. Blocking in open() runs no JavaScript, so however long that
    // takes, the process is in the same state afterwards.
    console.log(`bench:cost ready pid=${process.pid}`);
    closeSync(openSync(values.hold, 'r'));
  }
  for (let i = 0; i < regions; i++) {
    mark();
    await push(messages);
  }
  mark();

  if (values.check) {
    const total = warmup + regions * messages;
    for (let i = 0; i < 200 && replies.length < total; i++) {
      await nextTurn();
    }
    const wrong = replies.findIndex((reply, i) => reply !== replyOf(i));
    if (replies.length !== total || wrong !== -1) {
      fail(
        `check: ${replies.length} of ${total} replies, first wrong: ` +
          `#${wrong} ${replies[wrong]}`,
      );
    }
    console.log(
      `bench:cost check ${values.server}: ${total} replies ok, ${turns} turns`,
    );
  }
  // No shutdown: exiting here is the same for every run, and the run is long enough as it is.
  process.exit(0);
}

await main();
