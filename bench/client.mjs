// The load generator: one process, run by bench/run.mjs on its own core and driven over IPC.
//   runner -> client: {type: 'start', job} | {type: 'mark'} | {type: 'stop'}
//   client -> runner: {type: 'ready', ...} | {type: 'mark', ...} | {type: 'error', message}
// A `mark` returns what happened since the previous one, so the runner can bracket exactly the
// window in which it also reads the server's CPU time. The hot paths send precomputed buffers
// and look at one or two bytes of each reply instead of parsing it.
import process from 'node:process';
import { WebSocket } from 'ws';
import { signToken, tamperToken } from './lib/jwt.mjs';

const TEXT =
  'The quick brown fox jumps over the lazy dog; pack my box with jugs';
const FRAME_IDS = 256;
const FIRST_ID = 100_000;
const SEND_TEXT = { binary: false };
const CLIENT_OPTIONS = {
  perMessageDeflate: false,
  skipUTF8Validation: true,
  // All-zero masks let `ws` skip masking: a client-side cost the servers never see.
  generateMask: () => undefined,
  handshakeTimeout: 10_000,
};
const MAX_SAMPLES = 4_000_000;
const C = 0x63; // 'c' of {"event":"echo"
const X = 0x78; // 'x' of {"event":"exception"
const I = 0x69; // 'i' of {"event":"message","id"

/** Reports the error to the runner and exits. */
function fail(message) {
  process.send?.({ type: 'error', message });
  setTimeout(() => process.exit(1), 50);
}

process.on('uncaughtException', (error) => fail(error.stack ?? String(error)));

function frames(make) {
  return Array.from({ length: FRAME_IDS }, (_, i) =>
    Buffer.from(make(FIRST_ID + i)),
  );
}

function connect(url) {
  return new WebSocket(url, CLIENT_OPTIONS);
}

/**
 * The URL of connection `i`: `?token=` for user `sub`, or for one of `users` users
 * (`user-0`...), signed once per user; `tamper` breaks the signature.
 */
function urlsOf(job) {
  const { secret, sub, users, tamper } = job.auth;
  // Several nodes (`job.urls`): connection `i` goes to node `i % nodes`.
  const bases = job.urls ?? [job.url];
  const tokens = new Map();
  return (i) => {
    const name = users ? `user-${i % users}` : sub;
    let token = tokens.get(name);
    if (!token) {
      token = signToken(secret, name);
      token = tamper ? tamperToken(token) : token;
      tokens.set(name, token);
    }
    return `${bases[i % bases.length]}?token=${token}`;
  };
}

/** Opens `count` sockets, `concurrency` at a time; resolves once each called the `ready` given to `onOpen`. */
async function openMany(urlOf, count, concurrency, onOpen) {
  const sockets = [];
  let started = 0;
  let failed = 0;
  let firstFailure = '';
  await new Promise((resolve, reject) => {
    let done = 0;
    const next = () => {
      if (started === count) {
        return;
      }
      const index = started++;
      const ws = connect(urlOf(index));
      sockets[index] = ws;
      let settled = false;
      const settle = (ok, why) => {
        if (settled) {
          return;
        }
        settled = true;
        if (!ok) {
          failed++;
          firstFailure ||= why;
        }
        if (++done === count) {
          resolve();
        } else {
          next();
        }
      };
      ws.on('error', (error) => settle(false, error.message));
      ws.on('close', (code, reason) =>
        settle(false, `closed ${code} ${reason.toString()}`),
      );
      onOpen(ws, index, () => settle(true));
    };
    for (let i = 0; i < Math.min(concurrency, count); i++) {
      next();
    }
    setTimeout(
      () => reject(new Error(`opening ${count} sockets took over 60 s`)),
      60_000,
    ).unref();
  });
  if (failed > 0) {
    throw new Error(
      `${failed} of ${count} connections failed, first: ${firstFailure}`,
    );
  }
  return sockets;
}

/** Waits for the welcome frame (full stack) or the open event. */
function readyOn(expect) {
  return (ws, _index, ready) => {
    if (expect === 'welcome') {
      ws.once('message', ready);
    } else {
      ws.once('open', ready);
    }
  };
}

class Samples {
  values = new Float64Array(MAX_SAMPLES);
  length = 0;

  add(value) {
    if (this.length < MAX_SAMPLES) {
      this.values[this.length++] = value;
    }
  }

  percentiles() {
    const sorted = this.values.subarray(0, this.length).sort();
    const at = (p) =>
      sorted.length
        ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
        : null;
    return {
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      p999: at(0.999),
      max: at(1),
    };
  }
}

/** Counters since the last mark, plus this process's own CPU use. */
class Window {
  counters = {};
  samples = new Samples();
  started = performance.now();
  cpu = process.cpuUsage();

  take(extra = {}) {
    const now = performance.now();
    const cpu = process.cpuUsage(this.cpu);
    const seconds = (now - this.started) / 1000;
    const result = {
      seconds,
      clientBusy: (cpu.user + cpu.system) / 1e6 / seconds,
      ...this.counters,
      latencyMs: this.samples.percentiles(),
      ...extra,
    };
    for (const key of Object.keys(this.counters)) {
      this.counters[key] = 0;
    }
    this.samples.length = 0;
    this.started = now;
    this.cpu = process.cpuUsage();
    return result;
  }
}

const jobs = {
  /** Pipelined echo: `connections` sockets, each with `inFlight` requests outstanding. */
  async echo(job, window) {
    const payloads = frames((id) =>
      job.idInData
        ? `{"event":"echo","data":{"id":${id},"text":"${TEXT}"}}`
        : `{"event":"echo","id":${id},"data":{"text":"${TEXT}"}}`,
    );
    const c = (window.counters = { replies: 0, errors: 0 });
    const sockets = await openMany(
      urlsOf(job),
      job.connections,
      job.connections,
      readyOn(job.expect),
    );
    let running = true;
    let seq = 0;
    for (const ws of sockets) {
      const sentAt = new Float64Array(job.inFlight);
      let head = 0;
      let tail = 0;
      const send = () => {
        sentAt[tail] = performance.now();
        tail = tail + 1 === job.inFlight ? 0 : tail + 1;
        ws.send(payloads[seq++ & (FRAME_IDS - 1)], SEND_TEXT);
      };
      ws.on('message', (data) => {
        window.samples.add(performance.now() - sentAt[head]);
        head = head + 1 === job.inFlight ? 0 : head + 1;
        if (data[11] === C) {
          c.replies++;
        } else {
          c.errors++;
        }
        if (running) {
          send();
        }
      });
      for (let i = 0; i < job.inFlight; i++) {
        send();
      }
    }
    return {
      stop: () => {
        running = false;
        for (const ws of sockets) {
          ws.terminate();
        }
      },
    };
  },

  /**
   * Open loop: `rate` requests a second in all, spread round-robin over `connections` sockets on
   * a fixed schedule whatever the replies do; latency is measured from each request's scheduled
   * time, so a server (or client) that falls behind shows it instead of hiding it.
   */
  async rate(job, window) {
    const payload = Buffer.from(
      job.idInData
        ? `{"event":"echo","data":{"id":1,"text":"${TEXT}"}}`
        : `{"event":"echo","id":1,"data":{"text":"${TEXT}"}}`,
    );
    const c = (window.counters = { replies: 0, errors: 0, sent: 0 });
    const sockets = await openMany(
      urlsOf(job),
      job.connections,
      job.connections,
      readyOn(job.expect),
    );
    const intervalMs = 1000 / job.rate;
    const queues = sockets.map(() => ({ times: [], head: 0 }));
    sockets.forEach((ws, i) => {
      const queue = queues[i];
      ws.on('message', (data) => {
        const at = queue.times[queue.head++];
        if (queue.head > 1024) {
          queue.times.splice(0, queue.head);
          queue.head = 0;
        }
        window.samples.add(performance.now() - at);
        if (data[11] === C) {
          c.replies++;
        } else {
          c.errors++;
        }
      });
    });
    const startedAt = performance.now();
    let sent = 0;
    const timer = setInterval(() => {
      const due = Math.floor((performance.now() - startedAt) / intervalMs);
      while (sent < due) {
        const i = sent % sockets.length;
        queues[i].times.push(startedAt + sent * intervalMs);
        sockets[i].send(payload, SEND_TEXT);
        sent++;
        c.sent++;
      }
    }, 1);
    return {
      stop: () => {
        clearInterval(timer);
        for (const ws of sockets) {
          ws.terminate();
        }
      },
    };
  },

  /** Connect, wait until usable (or refused), close, repeat; `concurrency` at a time. */
  async handshake(job, window) {
    const c = (window.counters = { completed: 0, refused: 0, errors: 0 });
    const urlOf = urlsOf(job);
    let running = true;
    let next = 0;
    const one = () => {
      if (!running) {
        return;
      }
      const startedAt = performance.now();
      const ws = connect(urlOf(next++));
      let settled = false;
      const settle = (counter) => {
        if (settled) {
          return;
        }
        settled = true;
        c[counter]++;
        if (counter !== 'errors') {
          window.samples.add(performance.now() - startedAt);
        }
        if (ws.readyState === WebSocket.OPEN) {
          ws.close(1000);
        }
        setImmediate(one);
      };
      if (job.expect === 'refused') {
        ws.on('close', (code) => settle(code === 1008 ? 'refused' : 'errors'));
      } else {
        ws.on('close', () => settle('errors'));
        readyOn(job.expect)(ws, 0, () => settle('completed'));
      }
      ws.on('error', () => settle('errors'));
    };
    for (let i = 0; i < job.concurrency; i++) {
      one();
    }
    return {
      stop: () => {
        running = false;
      },
    };
  },

  /** Opens `count` authenticated connections and keeps them idle. */
  async idle(job, window) {
    const startedAt = performance.now();
    const sockets = await openMany(
      urlsOf(job),
      job.count,
      job.concurrency,
      readyOn(job.expect),
    );
    window.counters = {};
    return {
      ready: {
        opened: sockets.length,
        openSeconds: (performance.now() - startedAt) / 1000,
      },
      stop: () => {
        for (const ws of sockets) {
          ws.terminate();
        }
      },
    };
  },

  /**
   * Room fan-out: `members` sockets in one room; member 0 also sends `message` frames, keeping
   * at most `window` broadcasts undelivered; every member counts the broadcasts it receives.
   */
  async fanout(job, window) {
    const payloads = frames(
      (id) =>
        `{"event":"message","id":${id},"data":{"room":"${job.room}","text":"${TEXT}"}}`,
    );
    const joinFrame = JSON.stringify({
      event: 'join',
      id: 1,
      data: { room: job.room },
    });
    const sockets = await openMany(
      urlsOf(job),
      job.members,
      job.concurrency,
      (ws, _index, ready) => {
        if (job.sendJoin) {
          ws.once('open', () => ws.send(joinFrame));
        }
        const onSetup = (data) => {
          if (JSON.parse(data.toString()).event === 'join') {
            ws.off('message', onSetup);
            ready();
          }
        };
        ws.on('message', onSetup);
      },
    );
    const c = (window.counters = {
      deliveries: 0,
      messages: 0,
      replies: 0,
      errors: 0,
    });
    const n = job.members;
    const limit = job.window * n;
    let sent = 0;
    let delivered = 0;
    let running = true;
    let firstError;
    const sender = sockets[0];
    const pump = () => {
      while (running && sent * n - delivered < limit) {
        sender.send(payloads[sent++ & (FRAME_IDS - 1)], SEND_TEXT);
        c.messages++;
      }
    };
    for (const ws of sockets) {
      const isSender = ws === sender;
      ws.on('message', (data) => {
        if (isSender && data[20] === I) {
          c.replies++;
          return;
        }
        if (isSender && data[11] === X) {
          c.errors++;
          firstError ??= data.toString();
          return;
        }
        delivered++;
        c.deliveries++;
        pump();
      });
    }
    pump();
    return {
      mark: () => (firstError ? { firstError } : {}),
      stop: () => {
        running = false;
        for (const ws of sockets) {
          ws.terminate();
        }
      },
    };
  },
};

let window;
let current;

process.on('message', (message) => {
  if (message.type === 'start') {
    window = new Window();
    const run = jobs[message.job.kind];
    if (!run) {
      fail(`unknown job kind ${message.job.kind}`);
      return;
    }
    run(message.job, window).then(
      (handle) => {
        current = handle;
        window.take();
        process.send({ type: 'ready', ...handle.ready });
      },
      (error) => fail(error.message),
    );
    return;
  }
  if (message.type === 'mark') {
    process.send({ type: 'mark', ...window.take(current?.mark?.()) });
    return;
  }
  if (message.type === 'stop') {
    current?.stop();
    process.send({ type: 'stopped' }, () => process.exit(0));
  }
});

process.on('disconnect', () => process.exit(0));
