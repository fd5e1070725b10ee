// npm run bench:cost: instructions per echo message, counted by callgrind, for the full default
// stack and for a bare Nest gateway, compared with bench/cost/baseline.json. The count is the
// same from run to run on a given Node binary (within about 0.3%), whatever else the machine is
// doing, so CI gates on it. See bench/cost/README.md for the method.
//
//   npm run bench:cost                  measure, compare, exit 1 when the full stack regressed
//   npm run bench:cost -- --update      measure and rewrite bench/cost/baseline.json
//   npm run bench:cost -- --runs=3      measure 3 times (shows the spread), compare the median
//   npm run bench:cost -- --only=full   one server (full, bare)
//   npm run bench:cost -- --jit         with V8's JIT and a longer warm-up: closer to production,
//                                       lumpier (compilations land in the counted regions); never
//                                       compared with the baseline
//   npm run bench:cost -- --keep        keep the callgrind files (their directory is printed)
import { execFileSync, spawn } from 'node:child_process';
import {
  close,
  existsSync,
  mkdirSync,
  mkdtempSync,
  open,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildServersIfStale } from '../lib/build.mjs';
import { ROOT } from '../lib/processes.mjs';
import { median } from '../lib/report.mjs';

const HARNESS = path.join(ROOT, 'bench/cost/harness.mjs');
const BASELINE = path.join(ROOT, 'bench/cost/baseline.json');
const VALGRIND = process.env.VALGRIND ?? 'valgrind';

// Single-threaded V8 (no background compiler or GC threads), fixed seeds and fixed heap sizes, so
// that the same work takes the same instructions on any machine.
const DETERMINISTIC = [
  '--single-threaded',
  '--predictable-gc-schedule',
  '--random-seed=1',
  '--min-semi-space-size=16',
  '--max-semi-space-size=16',
  '--max-old-space-size=2048',
];
/** What is measured; a baseline taken with other settings is not comparable. */
const GATE = {
  // Start-up and warm-up run uninstrumented (fast); then `regions` regions of `messages` each.
  warmup: 2000,
  messages: 200,
  regions: 3,
  // The interpreter only: with the JIT, when TurboFan compiles what dominates a region's count.
  nodeFlags: ['--jitless', ...DETERMINISTIC],
};
// The paused client's kernel buffers hold the replies of the warm-up too (1.1 MB here).
const JIT = {
  warmup: 10_000,
  messages: 200,
  regions: 3,
  nodeFlags: DETERMINISTIC,
};
// Runs differ by 0.1-0.3% (see README.md); this leaves room for other machines of the same kind.
const TOLERANCE = 0.05;
const SERVERS = [
  { key: 'full', label: 'full stack' },
  { key: 'bare', label: 'bare Nest' },
];
const RUN_TIMEOUT_MS = 300_000;

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name) =>
  args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const UPDATE = flag('update');
const KEEP = flag('keep');
const SETTINGS = flag('jit') ? JIT : GATE;
const RUNS = Number(option('runs') ?? 1);
const ONLY = option('only')?.split(',');
const servers = SERVERS.filter((server) => !ONLY || ONLY.includes(server.key));
const known = ['update', 'keep', 'jit', 'runs=', 'only='];
if (
  args.some((arg) => !known.some((name) => arg.startsWith(`--${name}`))) ||
  !Number.isInteger(RUNS) ||
  RUNS < 1 ||
  servers.length === 0 ||
  (UPDATE && (servers.length < SERVERS.length || SETTINGS === JIT))
) {
  console.error(
    'usage: node bench/cost/run.mjs [--update | --jit] [--runs=N] [--only=full,bare] [--keep]\n' +
      '(--update measures both servers without --jit)',
  );
  process.exit(2);
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}%`;
const mean = (xs) => xs.reduce((sum, x) => sum + x, 0) / xs.length;
const spreadOf = (xs) => (Math.max(...xs) - Math.min(...xs)) / mean(xs);

function harnessArgs(server, { warmup, messages, regions }) {
  return [
    HARNESS,
    `--server=${server}`,
    `--warmup=${warmup}`,
    `--messages=${messages}`,
    `--regions=${regions}`,
  ];
}

/** A short run without valgrind that reads and compares every reply: fails fast and clearly. */
function check(server) {
  try {
    execFileSync(
      process.execPath,
      [
        ...SETTINGS.nodeFlags,
        ...harnessArgs(server, { warmup: 50, messages: 100, regions: 1 }),
        '--check',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 },
    );
  } catch (error) {
    throw new Error(
      `the ${server} server does not answer as expected:\n${error.stderr ?? error.message}`.trim(),
    );
  }
}

/**
 * One callgrind run. Start-up and warm-up run without instrumentation; once the harness holds
 * (blocked opening a FIFO), vgdb turns instrumentation on and opening the FIFO releases it; each of
 * the harness's marks then makes callgrind dump its counters to a file of its own.
 * Resolves with the instructions of each region.
 */
function measure(server, dir) {
  const out = path.join(dir, `${server}.out`);
  const fifo = path.join(dir, `${server}.hold`);
  execFileSync('mkfifo', [fifo]);
  const child = spawn(
    VALGRIND,
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      '--dump-before=uv_get_constrained_memory',
      '--dump-line=no',
      `--callgrind-out-file=${out}`,
      '-q',
      process.execPath,
      ...SETTINGS.nodeFlags,
      ...harnessArgs(server, SETTINGS),
      `--hold=${fifo}`,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  let released = false;
  const abort = (why) => {
    output += `\n${why}`;
    child.kill('SIGKILL');
  };
  const onData = (chunk) => {
    output += chunk;
    if (released || !/bench:cost ready pid=\d+/.test(output)) {
      return;
    }
    released = true;
    try {
      execFileSync('vgdb', [`--pid=${child.pid}`, 'instrumentation', 'on'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 30_000,
      });
    } catch (error) {
      abort(`vgdb failed: ${error.stderr ?? error.message}`);
      return;
    }
    open(fifo, 'w', (error, fd) => {
      if (error) {
        abort(`cannot release the harness: ${error.message}`);
      } else {
        close(fd, () => undefined);
      }
    });
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => abort(`timed out after ${RUN_TIMEOUT_MS / 1000} s`),
      RUN_TIMEOUT_MS,
    );
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(
        new Error(
          `cannot run ${VALGRIND}: ${error.message} (apt-get install valgrind)`,
        ),
      );
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const dumps = readdirSync(dir)
        .filter((name) => /^\d+$/.test(name.slice(server.length + 5)))
        .filter((name) => name.startsWith(`${server}.out.`))
        .map((name) => Number(name.slice(server.length + 5)))
        .sort((a, b) => a - b);
      // The first dump holds the stretch from "instrumentation on" to the first mark.
      if (code !== 0 || dumps.length !== SETTINGS.regions + 1) {
        const tail = output.trim().split('\n').slice(-15).join('\n');
        reject(
          new Error(
            `callgrind run of ${server} failed (exit ${code}, ${dumps.length} dumps):\n${tail}`,
          ),
        );
        return;
      }
      resolve(
        dumps.slice(1).map((part) => {
          const text = readFileSync(`${out}.${part}`, 'utf8');
          const summary = /^summary: (\d+)$/m.exec(text);
          if (!summary) {
            throw new Error(`no summary line in ${out}.${part}`);
          }
          return Number(summary[1]);
        }),
      );
    });
  });
}

function gitCommit() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dirty = execFileSync(
      'git',
      [
        'status',
        '--porcelain',
        '--',
        'libs/ws-middleware/src',
        'bench/servers',
      ],
      { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    ).trim();
    return dirty ? `${commit} + uncommitted changes` : commit;
  } catch {
    return 'unknown';
  }
}

/** Prints the figures and the verdict; returns whether the gate failed. */
function report(figures, results, seconds) {
  const baseline = existsSync(BASELINE)
    ? JSON.parse(readFileSync(BASELINE, 'utf8'))
    : undefined;
  const comparable =
    SETTINGS === GATE &&
    baseline !== undefined &&
    JSON.stringify(baseline.settings) === JSON.stringify(SETTINGS);
  console.log(
    `\nbench:cost: callgrind instructions (Ir) per echo message on one connection, ` +
      `Node ${process.version} ${SETTINGS.nodeFlags.join(' ')}; ` +
      `${SETTINGS.regions} x ${SETTINGS.messages} messages after ${fmt(SETTINGS.warmup)} of ` +
      `warm-up; ${RUNS} run${RUNS > 1 ? 's' : ''}, ${seconds} s`,
  );
  let regressed = false;
  for (const { key, label } of servers) {
    const values = results[key];
    const runs =
      values.length > 1
        ? `; runs ${values.map(fmt).join(', ')}, spread ${(spreadOf(values) * 100).toFixed(2)}%`
        : '';
    let verdict = '';
    const base = comparable ? baseline.irPerMessage[key] : undefined;
    if (base) {
      const change = figures[key] / base - 1;
      const over = change > baseline.tolerance;
      // Only the full stack is gated: bare Nest is the yardstick.
      const gated = key === 'full';
      regressed ||= gated && over;
      verdict = `, baseline ${fmt(base)} (${pct(change)}${
        gated
          ? over
            ? `): REGRESSION, over the ${pct(baseline.tolerance)} tolerance`
            : `): ok, tolerance ${pct(baseline.tolerance)}`
          : ', not gated)'
      }`;
    }
    console.log(
      `  ${label.padEnd(10)} ${fmt(figures[key]).padStart(9)} Ir/msg${verdict}${runs}`,
    );
  }
  if (figures.full && figures.bare) {
    const ratio = figures.full / figures.bare;
    const baseRatio = comparable
      ? baseline.irPerMessage.full / baseline.irPerMessage.bare
      : undefined;
    console.log(
      `  full stack / bare Nest: ${ratio.toFixed(2)}x${baseRatio ? ` (baseline ${baseRatio.toFixed(2)}x)` : ''}`,
    );
  }
  if (UPDATE || SETTINGS === JIT) {
    return false;
  }
  if (!comparable) {
    console.log(
      baseline
        ? 'bench:cost: bench/cost/baseline.json was taken with other settings: npm run bench:cost -- --update'
        : 'bench:cost: no baseline yet: npm run bench:cost -- --update',
    );
    return true;
  }
  if (baseline.node !== process.version) {
    console.log(
      `bench:cost: note: the baseline was taken with Node ${baseline.node}; counts depend on the Node binary`,
    );
  }
  if (regressed) {
    console.log(
      'bench:cost: the full stack costs more per message than the baseline allows. If that is ' +
        'intended, say why in the commit and run npm run bench:cost -- --update',
    );
  } else if (
    figures.full &&
    figures.full < baseline.irPerMessage.full * (1 - baseline.tolerance)
  ) {
    console.log(
      'bench:cost: the full stack got cheaper than the tolerance: npm run bench:cost -- --update keeps the gain',
    );
  }
  return regressed;
}

async function main() {
  const started = Date.now();
  buildServersIfStale();
  for (const { key } of servers) {
    check(key);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-cost-'));
  const results = {};
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const { key, label } of servers) {
        const runDir = path.join(dir, `run-${run}`);
        mkdirSync(runDir, { recursive: true });
        const runStarted = Date.now();
        const perRegion = (await measure(key, runDir)).map(
          (ir) => ir / SETTINGS.messages,
        );
        (results[key] ??= []).push(mean(perRegion));
        console.log(
          `bench:cost: ${label.padEnd(10)} run ${run}: ${fmt(mean(perRegion))} Ir/msg ` +
            `(regions ${perRegion.map(fmt).join(', ')}; spread ${(spreadOf(perRegion) * 100).toFixed(2)}%), ` +
            `${((Date.now() - runStarted) / 1000).toFixed(0)} s`,
        );
      }
    }
  } finally {
    if (KEEP) {
      console.log(`bench:cost: callgrind files in ${dir}`);
    } else {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const figures = Object.fromEntries(
    Object.entries(results).map(([key, values]) => [key, median(values)]),
  );
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const failed = report(figures, results, seconds);
  if (UPDATE) {
    const baseline = {
      about:
        'Callgrind instructions per echo message (bench/cost/run.mjs); rewrite with npm run bench:cost -- --update',
      node: process.version,
      commit: gitCommit(),
      measuredAt: new Date().toISOString(),
      runs: RUNS,
      tolerance: TOLERANCE,
      settings: SETTINGS,
      irPerMessage: Object.fromEntries(
        Object.entries(figures).map(([key, value]) => [key, Math.round(value)]),
      ),
    };
    writeFileSync(BASELINE, `${JSON.stringify(baseline, null, 2)}\n`);
    console.log(`bench:cost: wrote ${path.relative(ROOT, BASELINE)}`);
  }
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  console.error(`bench:cost: ${error.message}`);
  process.exit(1);
});
