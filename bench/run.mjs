// npm run bench: raw ws, bare Nest, the full ws-middleware stack and the chat server, each a
// separate server process on 127.0.0.1, loaded by a separate client process, interleaved over
// 3 trials. Prints the tables, writes bench/results/<timestamp>.json (+ latest.json) and the
// generated section of BENCHMARKS.md. See BENCHMARKS.md for the method.
//
//   node bench/run.mjs              the full run (under 4 minutes on 2 cores)
//   node bench/run.mjs --quick      1 short trial, smaller idle test: a smoke test of the suite
//   node bench/run.mjs --profile    CPU profile of the full stack under the echo load, and the
//                                   echo cost with the throttler or the DTO taken out
//   --profile=handshake             CPU profile of the full stack's JWT handshakes
//   --profile=fanout                CPU profile of the chat server's room fan-out
//   --profile=handshake:bare        the same of another server (raw, bare, full, chat)
//   --only=raw,chat                 only these servers (raw, bare, full, chat)
//   --workloads=fanout              only these workloads (idle, echo, handshake, refuse, fanout)
//   --no-build                      use dist/ and bench/.build/ as they are
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildIfStale, snapshotApp } from './lib/build.mjs';
import {
  ROOT,
  ServerGroup,
  ServerProcess,
  cpuPlan,
  fileLimit,
  machineCpu,
  redisAnswers,
  sleep,
} from './lib/processes.mjs';
import { analyzeProfile } from './lib/profile.mjs';
import { consoleReport, markdownReport, summarize } from './lib/report.mjs';
import * as workloads from './lib/workloads.mjs';

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
// `--profile` is `--profile=echo`; `--profile=handshake` and `--profile=fanout` profile those.
const PROFILE = args.has('--profile')
  ? 'echo'
  : [...args].find((arg) => arg.startsWith('--profile='))?.slice(10);
const BUILD = !args.has('--no-build');
// `--only=raw,chat` and `--workloads=fanout,echo` run a subset (never written to BENCHMARKS.md).
const listArg = (name) =>
  [...args]
    .find((arg) => arg.startsWith(`--${name}=`))
    ?.slice(name.length + 3)
    .split(',');
const ONLY = listArg('only');
const ONLY_WORKLOADS = listArg('workloads');
const PARTIAL = Boolean(ONLY || ONLY_WORKLOADS);
const BUDGET_MS = 236_000;
const NEVER = '1000000000';
// The scale pass (once per run, after the trials): idle memory at 10,000 connections and room
// fan-out to 10,000 members. This 2-core VM opens only ~1,000-2,000 connections a second per
// server, so these run once, not in each of the 3 trials.
const SCALE_CONNECTIONS = 10_000;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
// The run plans against SOFT_BUDGET_MS: a server's trial is skipped when it would not end in
// time (its expected duration is what it took in the previous trial), and a measured window in
// which other processes used more than NOISY_LOAD CPUs is run once more only when that still
// fits. BUDGET_MS is the hard stop.
const SOFT_BUDGET_MS = 222_000;
const NOISY_LOAD = 0.5;
const EXPECTED_TRIAL_MS = {
  raw: 13_000,
  bare: 10_000,
  full: 13_000,
  chat: 7_000,
  cluster: 9_000,
};
const EXPECTED_SCALE_MS = {
  raw: 14_000,
  bare: 9_000,
  full: 14_000,
  chat: 16_000,
};
const MARK_START = '<!-- bench:results:start -->';
const MARK_END = '<!-- bench:results:end -->';

const startedAt = new Date();
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;

const scale = QUICK ? 0.5 : 1;
const scaleCount = Math.min(
  QUICK ? 2_000 : SCALE_CONNECTIONS,
  fileLimit() - 1_000,
);
const CONFIG = {
  trials: QUICK ? 1 : 3,
  echo: {
    connections: 50,
    inFlight: 8,
    warmupMs: 750 * scale,
    measureMs: 1500 * scale,
  },
  latency: {
    connections: 50,
    // Well below every server's capacity (the slowest, bare Nest, echoes over 20,000/s here).
    rate: 5_000,
    warmupMs: 500 * scale,
    measureMs: 1500 * scale,
  },
  fanout: {
    members: 1000,
    user: 'alice',
    window: 4,
    room: 'bench',
    concurrency: 50,
    warmupMs: 750 * scale,
    measureMs: 1500 * scale,
  },
  fanout10k: {
    members: scaleCount,
    user: 'alice',
    window: 2,
    room: 'bench',
    concurrency: 100,
    warmupMs: 500 * scale,
    measureMs: 1500 * scale,
  },
  handshake: {
    concurrency: 16,
    users: 1000,
    warmupMs: 400 * scale,
    measureMs: 1200 * scale,
  },
  refuse: {
    concurrency: 16,
    users: 1000,
    warmupMs: 300 * scale,
    measureMs: 1000 * scale,
  },
  idle: { count: scaleCount, warmup: 200, concurrency: 100, holdMs: 300 },
};

const DESCRIBE = {
  echo: `${CONFIG.echo.connections} connections (one user each) x ${CONFIG.echo.inFlight} requests in flight, ${CONFIG.echo.measureMs / 1000} s measured after ${CONFIG.echo.warmupMs / 1000} s warm-up; latency as seen by the client`,
  latency: `open loop: ${CONFIG.latency.rate.toLocaleString('en-US')} requests/s on a fixed schedule over ${CONFIG.latency.connections} connections, latency from each request's scheduled send time; ${CONFIG.latency.measureMs / 1000} s measured`,
  fanout10k: `${CONFIG.fanout10k.members.toLocaleString('en-US')} connections in one room, one of them sending with at most ${CONFIG.fanout10k.window} broadcasts undelivered; ${CONFIG.fanout10k.measureMs / 1000} s measured; once per run (scale pass)`,
  fanout: `${CONFIG.fanout.members} connections in one room, one of them sending with at most ${CONFIG.fanout.window} broadcasts undelivered; ${CONFIG.fanout.measureMs / 1000} s measured`,
  handshake: `${CONFIG.handshake.concurrency} at a time, tokens of ${CONFIG.handshake.users} users: connect, wait until usable (open; on the full stack the welcome frame, sent after JWT verification), close; ${CONFIG.handshake.measureMs / 1000} s measured`,
  refuse: `${CONFIG.refuse.concurrency} at a time, tokens with a bad signature, until the 1008 close`,
  idle: `${CONFIG.idle.count.toLocaleString('en-US')} idle connections (authenticated, one user each), server memoryUsage() after two gc() calls, minus the same before; once per run (scale pass)`,
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
    workloads: ['echo', 'latency', 'handshake', 'fanout'],
    scaleWorkloads: ['idle', 'fanout10k'],
  },
  {
    key: 'bare',
    label: 'bare Nest',
    script: 'bench/.build/bench/servers/bare-nest.server.js',
    path: '/ws',
    expect: 'open',
    idInData: true,
    workloads: ['echo', 'latency', 'handshake'],
    scaleWorkloads: ['idle'],
  },
  {
    key: 'full',
    label: 'full stack',
    script: 'bench/.build/bench/servers/full-stack.server.js',
    env: { JWT_SECRET: secret },
    path: '/ws',
    expect: 'welcome',
    workloads: ['echo', 'latency', 'handshake', 'refuse'],
    scaleWorkloads: ['idle'],
  },
  {
    key: 'chat',
    label: 'chat server',
    // Run from the copy made by snapshotApp() (bench/.build/app/src/main.js).
    script: 'dist/src/main.js',
    env: chatEnv,
    path: '/ws',
    expect: 'welcome',
    fanout: { path: '/ws/bench', sendJoin: false },
    workloads: ['fanout'],
    scaleWorkloads: ['fanout10k'],
  },
  {
    key: 'cluster',
    label: 'chat, 2 nodes on Redis',
    script: 'dist/src/main.js',
    // Each node on its own in-memory SQLite: only one user sends, so ids need not be shared.
    env: {
      ...chatEnv,
      REDIS_URL,
      REDIS_PREFIX: `bench-${process.pid}-${Date.now()}:`,
    },
    nodes: 2,
    requires: 'redis',
    path: '/ws',
    expect: 'welcome',
    // Members alternate between the nodes; the sender is on the first.
    fanout: { path: '/ws/bench', sendJoin: false },
    workloads: ['fanout'],
    scaleWorkloads: [],
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
  const n = (v, d = 0) =>
    v.toLocaleString('en-US', { maximumFractionDigits: d });
  switch (workload) {
    case 'idle':
      return `idle ${n(r.rssBytes)} B rss / ${n(r.heapBytes)} B heap per conn`;
    case 'echo':
      return `echo ${n(r.perSec)}/s ${n(r.serverUs, 1)} µs p99 ${n(r.p99Ms, 2)} ms`;
    case 'fanout':
    case 'fanout10k':
      return `${workload} ${n(r.perSec)}/s ${n(r.serverUs, 2)} µs`;
    case 'latency':
      return `latency ${n(r.perSec)}/s p50 ${n(r.p50Ms, 2)} p99 ${n(r.p99Ms, 2)} ms`;
    default:
      return `${workload} ${n(r.perSec)}/s ${n(r.serverUs, 1)} µs`;
  }
}

function runWorkload(plan, server, def, workload) {
  const cfg = CONFIG[workload];
  if (workload === 'refuse') {
    return workloads.handshake(plan, server, def, cfg, auth, true);
  }
  if (workload === 'fanout10k') {
    return workloads.fanout(plan, server, def, cfg, auth);
  }
  return workloads[workload](plan, server, def, cfg, auth);
}

function startServer(plan, def, logFile, nodeArgs = []) {
  const options = {
    script: path.join(ROOT, def.script),
    env: def.env ?? {},
    nodeArgs,
    logFile,
  };
  return def.nodes
    ? ServerGroup.start(plan, options, def.nodes)
    : ServerProcess.start(plan, options);
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

/** `--profile[=workload]`: a V8 sampling profile of one server during one workload's window. */
async function profile(plan, logDir, spec) {
  const [workload, serverKey] = spec.split(':');
  const key = serverKey ?? (workload === 'fanout' ? 'chat' : 'full');
  const def = SERVERS.find((s) => s.key === key);
  if (!def.workloads.includes(workload)) {
    throw new Error(`--profile=${workload}: no such workload on ${def.label}`);
  }
  const file = path.join(logDir, `${key}-${workload}.cpuprofile`);
  const server = await startServer(plan, def, path.join(logDir, 'profile.log'));
  let r;
  try {
    r = await workloads[workload](
      plan,
      server,
      def,
      { ...CONFIG[workload], measureMs: 4000, profileFile: file },
      auth,
    );
  } finally {
    await server.stop();
  }
  const result = analyzeProfile(file, 16);
  const pct = (share) => `${(share * 100).toFixed(1).padStart(5)}%`;
  console.log(
    `\n${def.label} under ${workload}: ${Math.round(r.perSec).toLocaleString('en-US')}/s, ${r.serverUs.toFixed(1)} µs each while profiled`,
  );
  console.log(
    `${file}: ${result.busyMs.toFixed(0)} ms busy, ${result.idleMs.toFixed(0)} ms idle\n`,
  );
  console.log('top self time by function');
  for (const f of result.functions) {
    console.log(
      `  ${pct(f.share)}  ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}`,
    );
  }
  console.log('\nself time by package');
  for (const p of result.packages) {
    console.log(
      `  ${pct(p.share)}  ${p.ms.toFixed(0).padStart(6)} ms  ${p.name}`,
    );
  }
  if (ABLATIONS[workload]) {
    await ablation(plan, logDir, workload);
  }
}

/** What `--profile=<workload>` also measures: the full stack with one part taken out at a time. */
const ABLATIONS = {
  echo: [
    ['  without WsThrottlerGuard', { BENCH_THROTTLE: 'off' }],
    ['  without the DTO (no validation)', { BENCH_VALIDATION: 'off' }],
    ['  without both', { BENCH_THROTTLE: 'off', BENCH_VALIDATION: 'off' }],
  ],
  handshake: [['  without connection logs', { BENCH_LOG_CONNECTIONS: 'off' }]],
};

/** The workload on bare Nest, the full stack and its ablations (one trial each). */
async function ablation(plan, logDir, workload) {
  const full = SERVERS.find((s) => s.key === 'full');
  const variants = [
    ['bare Nest', SERVERS.find((s) => s.key === 'bare'), {}],
    ['full stack', full, {}],
    ...ABLATIONS[workload].map(([label, env]) => [label, full, env]),
  ];
  const rows = [];
  for (const [label, def, env] of variants) {
    const variant = { ...def, env: { ...def.env, ...env } };
    const server = await startServer(
      plan,
      variant,
      path.join(logDir, 'ablation.log'),
    );
    try {
      const r = await workloads[workload](
        plan,
        server,
        variant,
        CONFIG[workload],
        auth,
      );
      rows.push([label, r]);
    } finally {
      await server.stop();
    }
  }
  console.log(
    `\n${workload}, one trial each: what each part of the full stack costs`,
  );
  console.log(
    '  variant                              per s   server µs each  user µs   p99 ms',
  );
  for (const [label, r] of rows) {
    console.log(
      `  ${label.padEnd(33)} ${Math.round(r.perSec).toString().padStart(8)}  ${r.serverUs.toFixed(1).padStart(14)}  ${r.serverUserUs.toFixed(1).padStart(7)}  ${r.p99Ms.toFixed(1).padStart(7)}`,
    );
  }
}

async function main() {
  const watchdog = setTimeout(
    () => {
      console.error(`bench: over the ${BUDGET_MS / 1000} s budget, giving up`);
      process.exit(1);
    },
    BUDGET_MS + (PROFILE ? 60_000 : 0),
  );
  watchdog.unref();

  const plan = cpuPlan();
  console.log(
    `bench: ${plan.cores} CPUs, ${plan.pinned ? `servers on CPU ${plan.serverCore}, clients and runner on CPU ${plan.clientCore}` : 'no pinning (taskset or a second CPU missing)'}; ulimit -n ${fileLimit()}`,
  );
  const rebuilt = BUILD ? buildIfStale() : [];
  SERVERS.find((def) => def.key === 'chat').script = snapshotApp();
  const quiet = machineCpu();
  await sleep(500);
  const background = quiet ? (machineCpu().busySec - quiet.busySec) / 0.5 : 0;
  if (background > 0.25) {
    console.log(
      `bench: warning: other processes are using ${background.toFixed(2)} of ${plan.cores} CPUs; expect noisy results (see "rest of machine" in the tables)`,
    );
  }
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'ws-bench-'));
  console.log(`bench: server logs in ${logDir}`);

  if (PROFILE) {
    await profile(plan, logDir, PROFILE);
    return;
  }

  const unavailable = [];
  if (!(await redisAnswers(REDIS_URL))) {
    unavailable.push('cluster');
    console.log(
      `bench: no Redis on ${REDIS_URL} (BENCH_REDIS_URL): the two-node fan-out is left out`,
    );
  }
  const keep = (w) => !ONLY_WORKLOADS || ONLY_WORKLOADS.includes(w);
  SERVERS.splice(
    0,
    SERVERS.length,
    ...SERVERS.filter(
      (def) =>
        !unavailable.includes(def.key) && (!ONLY || ONLY.includes(def.key)),
    ).map((def) => ({
      ...def,
      workloads: def.workloads.filter(keep),
      scaleWorkloads: def.scaleWorkloads.filter(keep),
    })),
  );
  const raw = {};
  const failures = [];
  for (const def of SERVERS) {
    for (const workload of [...def.workloads, ...def.scaleWorkloads]) {
      raw[workload] ??= {};
      raw[workload][def.key] = [];
    }
  }
  const expected = { ...EXPECTED_TRIAL_MS };
  const plannedRuns = [];
  for (let trial = 0; trial < CONFIG.trials; trial++) {
    // Rotate the order, so no server always runs first (or right after the same one).
    const servers = SERVERS.filter((def) => def.workloads.length > 0);
    for (let i = 0; i < servers.length; i++) {
      const def = servers[(i + trial) % servers.length];
      plannedRuns.push({
        trial: trial + 1,
        def,
        list: def.workloads,
        expectMs: () => expected[def.key],
      });
    }
  }
  // Then the scale pass: once per server, on a fresh process, idle memory first.
  for (const def of SERVERS.filter((d) => d.scaleWorkloads.length > 0)) {
    plannedRuns.push({
      trial: 'scale',
      def,
      list: def.scaleWorkloads,
      expectMs: () => EXPECTED_SCALE_MS[def.key],
    });
  }
  const skipped = [];
  for (const [index, { trial, def, list, expectMs }] of plannedRuns.entries()) {
    const restMs = () =>
      plannedRuns
        .slice(index + 1)
        .reduce((sum, run) => sum + run.expectMs(), 0);
    const label =
      trial === 'scale'
        ? `scale pass ${def.label}`
        : `trial ${trial}/${CONFIG.trials} ${def.label}`;
    if (Date.now() - t0 + expectMs() > SOFT_BUDGET_MS) {
      skipped.push({ server: def.key, trial });
      console.log(
        `[${elapsed()}] ${label}: skipped, it would not end within the time budget`,
      );
      continue;
    }
    // One fresh server process per server and trial; each workload warms up before it is
    // measured.
    const began = Date.now();
    const logFile = path.join(logDir, `${def.key}-${trial}.log`);
    const done = [];
    let server;
    let workload = 'start-up';
    try {
      server = await startServer(plan, def, logFile);
      for (workload of list) {
        const attemptStart = Date.now();
        let result = await runWorkload(plan, server, def, workload);
        const attemptMs = Date.now() - attemptStart;
        if (
          result.otherLoad > NOISY_LOAD &&
          Date.now() - t0 + attemptMs + restMs() < SOFT_BUDGET_MS
        ) {
          done.push(
            `${workload} repeated (the rest of the machine used ${result.otherLoad.toFixed(2)} CPUs)`,
          );
          const first = result;
          result = await runWorkload(plan, server, def, workload);
          result.discarded = first;
        }
        result.tookSec = (Date.now() - attemptStart) / 1000;
        raw[workload][def.key].push(result);
        done.push(
          `${brief(workload, result)} [${result.tookSec.toFixed(1)} s]`,
        );
      }
    } catch (error) {
      // Keep going: the other servers' numbers are still worth having.
      const log = error.log ?? server?.tail() ?? '';
      failures.push({
        server: def.key,
        trial,
        workload,
        message: error.message,
        logFile,
      });
      done.push(
        `FAILED in ${workload}: ${error.message}\n--- ${logFile} ---\n${log}`,
      );
    } finally {
      await server?.stop();
    }
    if (trial !== 'scale') {
      expected[def.key] = Date.now() - began;
    }
    console.log(`[${elapsed()}] ${label}: ${done.join('; ')}`);
  }

  const summary = {};
  for (const [workload, byServer] of Object.entries(raw)) {
    summary[workload] = {};
    for (const [server, trials] of Object.entries(byServer)) {
      if (trials.length) {
        summary[workload][server] = summarize(trials);
      }
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
    backgroundLoadAtStart: background,
    leftOut: unavailable,
    ...gitInfo(),
  };
  console.log(consoleReport(summary, LABELS, DESCRIBE));
  const file = writeResults({
    meta,
    config: CONFIG,
    labels: LABELS,
    raw,
    summary,
    failures,
    skipped,
  });
  // A partial run must not replace the last complete table.
  const table =
    !QUICK && !PARTIAL && failures.length === 0 && skipped.length === 0;
  if (table) {
    writeBenchmarksMd(markdownReport(summary, LABELS, DESCRIBE, meta));
  }
  console.log(
    `\nbench: ${file}${table ? ' and BENCHMARKS.md' : ''} written; ${seconds.toFixed(0)} s in all`,
  );
  if (skipped.length) {
    console.log(
      `bench: ${skipped.length} server trial(s) skipped to stay within the time budget (the machine was busy); BENCHMARKS.md left alone`,
    );
  }
  if (failures.length) {
    throw new Error(
      `${failures.length} server run(s) failed: ${failures.map((f) => `${LABELS[f.server]} trial ${f.trial} (${f.workload})`).join(', ')}`,
    );
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`bench: ${error.stack ?? error}`);
    process.exit(1);
  },
);
