// npm run bench: raw ws, bare Nest, the full ws-middleware stack and the chat server, each a
// separate server process on 127.0.0.1, loaded by a separate client process, interleaved over
// 3 trials. Prints the tables, writes bench/results/<timestamp>.json (+ latest.json) and the
// generated section of BENCHMARKS.md. See BENCHMARKS.md for the method.
//
//   node bench/run.mjs              the full run (under 4 minutes on 2 cores)
//   node bench/run.mjs --quick      1 short trial, smaller idle test: a smoke test of the suite
//   node bench/run.mjs --profile    CPU profile of the full stack under the echo load
//   --no-build                      use dist/ and bench/.build/ as they are
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildIfStale } from './lib/build.mjs';
import { ROOT, ServerProcess, cpuPlan, fileLimit } from './lib/processes.mjs';
import { analyzeProfile } from './lib/profile.mjs';
import { consoleReport, markdownReport, summarize } from './lib/report.mjs';
import * as workloads from './lib/workloads.mjs';

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const PROFILE = args.has('--profile');
const BUILD = !args.has('--no-build');
const BUDGET_MS = 235_000;
const NEVER = '1000000000';
const IDLE_TARGET = 10_000;
const MARK_START = '<!-- bench:results:start -->';
const MARK_END = '<!-- bench:results:end -->';

const startedAt = new Date();
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;

const scale = QUICK ? 0.5 : 1;
const idleCount = Math.min(QUICK ? 1_000 : IDLE_TARGET, fileLimit() - 1_000);
const CONFIG = {
  trials: QUICK ? 1 : 3,
  echo: { connections: 50, inFlight: 8, warmupMs: 1000 * scale, measureMs: 2000 * scale },
  fanout: {
    members: 1000,
    user: 'alice',
    window: 4,
    room: 'bench',
    concurrency: 50,
    warmupMs: 1000 * scale,
    measureMs: 2000 * scale,
  },
  handshake: { concurrency: 16, users: 1000, warmupMs: 500 * scale, measureMs: 1500 * scale },
  refuse: { concurrency: 16, users: 1000, warmupMs: 300 * scale, measureMs: 1000 * scale },
  idle: { count: idleCount, warmup: 200, concurrency: 100, holdMs: 500 },
};

const DESCRIBE = {
  echo: `${CONFIG.echo.connections} connections (one user each) x ${CONFIG.echo.inFlight} requests in flight, ${CONFIG.echo.measureMs / 1000} s measured after ${CONFIG.echo.warmupMs / 1000} s warm-up; latency as seen by the client`,
  fanout: `${CONFIG.fanout.members} connections in one room, one of them sending with at most ${CONFIG.fanout.window} broadcasts undelivered; ${CONFIG.fanout.measureMs / 1000} s measured`,
  handshake: `${CONFIG.handshake.concurrency} at a time, tokens of ${CONFIG.handshake.users} users: connect, wait until usable (open; on the full stack the welcome frame, sent after JWT verification), close; ${CONFIG.handshake.measureMs / 1000} s measured`,
  refuse: `${CONFIG.refuse.concurrency} at a time, tokens with a bad signature, until the 1008 close`,
  idle: `${CONFIG.idle.count.toLocaleString('en-US')} idle connections (authenticated, one user each), server memoryUsage() after two gc() calls, minus the same before`,
};

const secret = randomBytes(24).toString('hex');
const auth = { secret };

const chatEnv = {
  NODE_ENV: 'development',
  JWT_SECRET: secret,
  SQLITE_PATH: ':memory:',
  DATABASE_URL: '',
  REDIS_URL: '',
  DEMO_USERS: 'true',
  LOG_LEVEL: 'log',
  WS_RATE_LIMIT: NEVER,
  WS_CONNECT_RATE_LIMIT: NEVER,
  WS_MAX_CONNECTIONS: NEVER,
  WS_MAX_CONNECTIONS_PER_USER: NEVER,
  WS_MAX_CONNECTIONS_PER_IP: NEVER,
};

/** The servers, in the order of the first trial, and what each one runs. */
const SERVERS = [
  {
    key: 'raw',
    label: 'raw ws',
    script: 'bench/servers/raw-ws.server.mjs',
    path: '/',
    expect: 'open',
    fanout: { path: '/', sendJoin: true },
    workloads: ['idle', 'echo', 'handshake', 'fanout'],
  },
  {
    key: 'bare',
    label: 'bare Nest',
    script: 'bench/.build/bare-nest.server.js',
    path: '/ws',
    expect: 'open',
    idInData: true,
    workloads: ['idle', 'echo', 'handshake'],
  },
  {
    key: 'full',
    label: 'full stack',
    script: 'bench/.build/full-stack.server.js',
    env: { JWT_SECRET: secret },
    path: '/ws',
    expect: 'welcome',
    workloads: ['idle', 'echo', 'handshake', 'refuse'],
  },
  {
    key: 'chat',
    label: 'chat server',
    script: 'dist/src/main.js',
    env: chatEnv,
    path: '/ws',
    expect: 'welcome',
    fanout: { path: '/ws/bench', sendJoin: false },
    workloads: ['fanout'],
  },
];
const LABELS = Object.fromEntries(SERVERS.map((s) => [s.key, s.label]));

function gitInfo() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--', 'src', 'libs'], {
        cwd: ROOT,
        encoding: 'utf8',
      }).trim().length > 0;
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

function brief(workload, r) {
  const n = (v, d = 0) => v.toLocaleString('en-US', { maximumFractionDigits: d });
  switch (workload) {
    case 'idle':
      return `idle ${n(r.rssBytes)} B rss / ${n(r.heapBytes)} B heap per conn`;
    case 'echo':
      return `echo ${n(r.perSec)}/s ${n(r.serverUs, 1)} µs p99 ${n(r.p99Ms, 2)} ms`;
    case 'fanout':
      return `fan-out ${n(r.perSec)}/s ${n(r.serverUs, 2)} µs`;
    default:
      return `${workload} ${n(r.perSec)}/s ${n(r.serverUs, 1)} µs`;
  }
}

function runWorkload(plan, server, def, workload) {
  const cfg = CONFIG[workload];
  return workload === 'refuse'
    ? workloads.handshake(plan, server, def, cfg, auth, true)
    : workloads[workload](plan, server, def, cfg, auth);
}

function startServer(plan, def, logFile, nodeArgs = []) {
  return ServerProcess.start(plan, {
    script: path.join(ROOT, def.script),
    env: def.env ?? {},
    nodeArgs,
    logFile,
  });
}

function writeResults(report) {
  const dir = path.join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(path.join(dir, `${stamp}.json`), json);
  writeFileSync(path.join(dir, 'latest.json'), json);
  return path.join('bench/results', `${stamp}.json`);
}

function writeBenchmarksMd(section) {
  const file = path.join(ROOT, 'BENCHMARKS.md');
  const current = existsSync(file)
    ? readFileSync(file, 'utf8')
    : `# Benchmarks\n\n${MARK_START}\n${MARK_END}\n`;
  const start = current.indexOf(MARK_START);
  const end = current.indexOf(MARK_END);
  const block = `${MARK_START}\n${section}\n${MARK_END}`;
  const next =
    start >= 0 && end > start
      ? `${current.slice(0, start)}${block}${current.slice(end + MARK_END.length)}`
      : `${current.trimEnd()}\n\n## Latest results\n\n${block}\n`;
  writeFileSync(file, next);
}

/** `--profile`: the full stack under the echo load, V8 sampling profile of the measured window. */
async function profile(plan, logDir) {
  const def = SERVERS.find((s) => s.key === 'full');
  const file = path.join(logDir, 'full-stack-echo.cpuprofile');
  const server = await startServer(plan, def, path.join(logDir, 'profile.log'));
  let r;
  try {
    r = await workloads.echo(
      plan,
      server,
      def,
      { ...CONFIG.echo, measureMs: 4000, profileFile: file },
      auth,
    );
  } finally {
    await server.stop();
  }
  const result = analyzeProfile(file);
  const pct = (share) => `${(share * 100).toFixed(1).padStart(5)}%`;
  console.log(
    `\nfull stack under echo: ${Math.round(r.perSec).toLocaleString('en-US')} msg/s, ${r.serverUs.toFixed(1)} µs/msg while profiled`,
  );
  console.log(`${file}: ${result.busyMs.toFixed(0)} ms busy, ${result.idleMs.toFixed(0)} ms idle\n`);
  console.log('top self time by function');
  for (const f of result.functions) {
    console.log(`  ${pct(f.share)}  ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}`);
  }
  console.log('\nself time by package');
  for (const p of result.packages) {
    console.log(`  ${pct(p.share)}  ${p.ms.toFixed(0).padStart(6)} ms  ${p.name}`);
  }
}

async function main() {
  const watchdog = setTimeout(() => {
    console.error(`bench: over the ${BUDGET_MS / 1000} s budget, giving up`);
    process.exit(1);
  }, BUDGET_MS + (PROFILE ? 60_000 : 0));
  watchdog.unref();

  const plan = cpuPlan();
  console.log(
    `bench: ${plan.cores} CPUs, ${plan.pinned ? `servers on CPU ${plan.serverCore}, clients and runner on CPU ${plan.clientCore}` : 'no pinning (taskset or a second CPU missing)'}; ulimit -n ${fileLimit()}`,
  );
  const rebuilt = BUILD ? buildIfStale() : [];
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'ws-bench-'));
  console.log(`bench: server logs in ${logDir}`);

  if (PROFILE) {
    await profile(plan, logDir);
    return;
  }

  const raw = {};
  for (const def of SERVERS) {
    for (const workload of def.workloads) {
      raw[workload] ??= {};
      raw[workload][def.key] = [];
    }
  }
  for (let trial = 0; trial < CONFIG.trials; trial++) {
    // Rotate the order, so no server always runs first (or right after the same one).
    const order = SERVERS.map((_, i) => SERVERS[(i + trial) % SERVERS.length]);
    for (const def of order) {
      // One fresh server process per server and trial. Idle memory runs first, on the fresh
      // process; the later workloads warm up before they are measured.
      const logFile = path.join(logDir, `${def.key}-${trial + 1}.log`);
      const server = await startServer(plan, def, logFile);
      const done = [];
      try {
        for (const workload of def.workloads) {
          const result = await runWorkload(plan, server, def, workload);
          raw[workload][def.key].push(result);
          done.push(brief(workload, result));
        }
      } catch (error) {
        console.error(
          `\n${def.label}, trial ${trial + 1}: ${error.message}\n--- ${logFile} ---\n${server.tail()}`,
        );
        throw error;
      } finally {
        await server.stop();
      }
      console.log(`[${elapsed()}] trial ${trial + 1}/${CONFIG.trials} ${def.label}: ${done.join('; ')}`);
    }
  }

  const summary = {};
  for (const [workload, byServer] of Object.entries(raw)) {
    summary[workload] = {};
    for (const [server, trials] of Object.entries(byServer)) {
      summary[workload][server] = summarize(trials);
    }
  }
  const seconds = (Date.now() - t0) / 1000;
  const meta = {
    startedAt: startedAt.toISOString(),
    seconds,
    trials: CONFIG.trials,
    quick: QUICK,
    node: process.version,
    cpuModel: os.cpus()[0]?.model?.trim() ?? 'unknown CPU',
    cores: plan.cores,
    pinned: plan.pinned,
    serverCore: plan.serverCore,
    clientCore: plan.clientCore,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    rebuilt,
    ...gitInfo(),
  };
  console.log(consoleReport(summary, LABELS, DESCRIBE));
  const file = writeResults({ meta, config: CONFIG, labels: LABELS, raw, summary });
  if (!QUICK) {
    writeBenchmarksMd(markdownReport(summary, LABELS, DESCRIBE, meta));
  }
  console.log(`\nbench: ${file}${QUICK ? '' : ' and BENCHMARKS.md'} written; ${seconds.toFixed(0)} s in all`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`bench: ${error.stack ?? error}`);
    process.exit(1);
  },
);
