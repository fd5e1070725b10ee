// Child processes of the runner: servers (pinned to one core, answering the probe over IPC) and
// load-generating clients (pinned to the other core), with bounded waits everywhere.
import { execFileSync, spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(fileURLToPath(import.meta.url), '../../..');
const PROBE = pathToFileURL(path.join(ROOT, 'bench/lib/probe.mjs')).href;
const CLIENT = path.join(ROOT, 'bench/client.mjs');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects with `what` if `promise` takes longer than `ms`. */
export function within(ms, what, promise) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${ms} ms: ${what}`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Server on one core, client and runner on another, when the machine has two and `taskset`. */
export function cpuPlan() {
  const cores = os.availableParallelism();
  let taskset = false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    taskset = cores >= 2;
  } catch {
    taskset = false;
  }
  const plan = {
    cores,
    pinned: taskset,
    serverCore: 0,
    clientCore: cores - 1,
  };
  if (plan.pinned) {
    execFileSync('taskset', [
      '-a',
      '-pc',
      String(plan.clientCore),
      String(process.pid),
    ]);
  }
  return plan;
}

/**
 * CPU time spent by the whole machine so far, in seconds (all CPUs: user, nice, system, irq and
 * softirq from /proc/stat, Linux only; `process.cpuUsage()` is charged the softirq work of its
 * own sockets too), and the time stolen by the hypervisor. `null` where /proc/stat is missing.
 */
export function machineCpu() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n', 1)[0]
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    const hz = 100;
    return {
      busySec: (user + nice + system + irq + softirq) / hz,
      stealSec: (steal ?? 0) / hz,
    };
  } catch {
    return null;
  }
}

/** Soft `ulimit -n` of the processes the runner starts. */
export function fileLimit() {
  try {
    const out = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
    return out.trim() === 'unlimited' ? Infinity : Number(out.trim());
  } catch {
    return 1024;
  }
}

/** A TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function launch(plan, core, args, options) {
  if (plan.pinned) {
    return spawn(
      'taskset',
      ['-c', String(core), process.execPath, ...args],
      options,
    );
  }
  return spawn(process.execPath, args, options);
}

/** True once something answers HTTP on the port (any status: `ws` alone answers 426). */
function answers(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.write(
        'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
      );
    });
    socket.setTimeout(1000);
    socket.once('data', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A benchmarked server: a separate Node process with `--expose-gc` and the probe preloaded,
 * output to `logFile`, ready once it answers on its port and over IPC.
 */
export class ServerProcess {
  constructor(child, port, logFile) {
    this.child = child;
    this.port = port;
    this.logFile = logFile;
    this.seq = 0;
    this.pending = new Map();
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    child.on('message', (message) => {
      const waiter = this.pending.get(message?.seq);
      if (waiter) {
        this.pending.delete(message.seq);
        waiter(message);
      }
    });
  }

  static async start(plan, { script, env, nodeArgs = [], logFile }) {
    const port = await freePort();
    const log = openSync(logFile, 'a');
    const child = launch(
      plan,
      plan.serverCore,
      ['--expose-gc', '--import', PROBE, ...nodeArgs, script],
      {
        cwd: ROOT,
        env: { ...process.env, ...env, PORT: String(port) },
        stdio: ['ignore', log, log, 'ipc'],
      },
    );
    const server = new ServerProcess(child, port, logFile);
    let dead = false;
    void server.exited.then(() => {
      dead = true;
    });
    try {
      await within(
        30_000,
        `${path.basename(script)} to answer on port ${port}`,
        (async () => {
          while (!(await answers(port))) {
            if (dead) {
              throw new Error(
                `${path.basename(script)} exited during start-up`,
              );
            }
            await sleep(50);
          }
        })(),
      );
      await server.cpu();
    } catch (error) {
      await server.stop();
      error.log = server.tail(40);
      throw error;
    }
    return server;
  }

  probe(kind, extra = {}) {
    const seq = ++this.seq;
    return within(
      15_000,
      `the server's ${kind} probe`,
      new Promise((resolve, reject) => {
        this.pending.set(seq, (reply) =>
          reply.error ? reject(new Error(reply.error)) : resolve(reply),
        );
        this.child.send({ probe: kind, seq, ...extra });
      }),
    );
  }

  /** `{cpuSec, wallSec}` read inside the server process. */
  async cpu() {
    const { cpu, wallNs } = await this.probe('cpu');
    return {
      cpuSec: (cpu.user + cpu.system) / 1e6,
      userSec: cpu.user / 1e6,
      wallSec: Number(BigInt(wallNs)) / 1e9,
    };
  }

  /** `process.memoryUsage()` after two full GCs. */
  async memory() {
    const { mem, gc } = await this.probe('mem');
    if (!gc) {
      throw new Error('the server has no global.gc (--expose-gc missing)');
    }
    return mem;
  }

  /** Waits until the server is idle (under 5% busy for 100 ms), at most `ms`. */
  async settle(ms = 5_000) {
    const deadline = Date.now() + ms;
    let before = await this.cpu();
    while (Date.now() < deadline) {
      await sleep(100);
      const after = await this.cpu();
      if (
        (after.cpuSec - before.cpuSec) / (after.wallSec - before.wallSec) <
        0.05
      ) {
        return;
      }
      before = after;
    }
  }

  /** The first error in the log with what follows it (a stack), else the last lines. */
  tail(lines = 20) {
    try {
      const all = readFileSync(this.logFile, 'utf8').split('\n');
      const error = all.findIndex((line) => /ERROR|Error/.test(line));
      return (
        error >= 0 ? all.slice(error, error + lines) : all.slice(-lines)
      ).join('\n');
    } catch {
      return '';
    }
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return;
    }
    if (this.child.connected) {
      this.child.send({ probe: 'exit' });
    }
    const exited = await Promise.race([
      this.exited.then(() => true),
      sleep(3_000).then(() => false),
    ]);
    if (!exited) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** One client process running one job; `mark()` returns the counters since the last mark. */
export class ClientProcess {
  constructor(child) {
    this.child = child;
    this.waiters = [];
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    child.on('message', (message) => {
      if (message.type === 'error') {
        this.error = new Error(`client: ${message.message}`);
        for (const waiter of this.waiters.splice(0)) {
          waiter.reject(this.error);
        }
        return;
      }
      const index = this.waiters.findIndex((w) => w.type === message.type);
      if (index >= 0) {
        this.waiters.splice(index, 1)[0].resolve(message);
      }
    });
    void this.exited.then((code) => {
      const error = this.error ?? new Error(`client exited with code ${code}`);
      for (const waiter of this.waiters.splice(0)) {
        waiter.reject(error);
      }
    });
  }

  static async start(plan, job, timeoutMs = 90_000) {
    const child = launch(plan, plan.clientCore, [CLIENT], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const client = new ClientProcess(child);
    client.ready = await client.request(
      { type: 'start', job },
      'ready',
      timeoutMs,
      `the ${job.kind} client to get ready`,
    );
    return client;
  }

  request(message, type, ms = 15_000, what = `the client's ${type}`) {
    if (this.error) {
      return Promise.reject(this.error);
    }
    return within(
      ms,
      what,
      new Promise((resolve, reject) => {
        this.waiters.push({ type, resolve, reject });
        this.child.send(message);
      }),
    );
  }

  mark() {
    return this.request({ type: 'mark' }, 'mark');
  }

  async stop() {
    if (this.child.exitCode === null) {
      await this.request({ type: 'stop' }, 'stopped').catch(() => undefined);
    }
    await Promise.race([this.exited, sleep(2_000)]);
    if (this.child.exitCode === null) {
      this.child.kill('SIGKILL');
    }
  }
}

/**
 * Several server processes run as one (cluster members on Redis): `cpu()` sums their CPU time,
 * `ports` lists them; everything else applies to each.
 */
export class ServerGroup {
  constructor(servers) {
    this.servers = servers;
    this.port = servers[0].port;
    this.ports = servers.map((server) => server.port);
    this.logFile = servers[0].logFile;
  }

  static async start(plan, options, nodes) {
    const servers = [];
    try {
      for (let i = 0; i < nodes; i++) {
        servers.push(await ServerProcess.start(plan, options));
      }
    } catch (error) {
      await Promise.all(servers.map((server) => server.stop()));
      throw error;
    }
    return new ServerGroup(servers);
  }

  async cpu() {
    const readings = await Promise.all(this.servers.map((s) => s.cpu()));
    return {
      cpuSec: readings.reduce((sum, r) => sum + r.cpuSec, 0),
      userSec: readings.reduce((sum, r) => sum + r.userSec, 0),
      wallSec: readings[0].wallSec,
    };
  }

  probe(kind, extra) {
    return this.servers[0].probe(kind, extra);
  }

  async settle(ms) {
    await Promise.all(this.servers.map((server) => server.settle(ms)));
  }

  tail(lines) {
    return this.servers.map((server) => server.tail(lines)).join('\n---\n');
  }

  async stop() {
    await Promise.all(this.servers.map((server) => server.stop()));
  }
}

/** Whether a Redis server answers PING on `url` (bench workloads that need one skip otherwise). */
export function redisAnswers(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({
      host: hostname,
      port: Number(port || 6379),
    });
    socket.setTimeout(1000);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
