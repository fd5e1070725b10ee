// Builds what the benchmark runs, only when it is missing or older than its sources:
// `npm run build` (the chat server, dist/src/main.js), then bench/tsconfig.json (the two
// TypeScript servers and, from its source, the library they import, into bench/.build/).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './processes.mjs';

function newest(dir, accept) {
  let latest = 0;
  if (!existsSync(dir)) {
    return latest;
  }
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      latest = Math.max(latest, newest(full, accept));
    } else if (accept(entry.name)) {
      latest = Math.max(latest, statSync(full).mtimeMs);
    }
  }
  return latest;
}

const mtime = (file) => (existsSync(file) ? statSync(file).mtimeMs : 0);
const isSource = (name) => name.endsWith('.ts') && !name.endsWith('.spec.ts');

function run(what, command, args) {
  const started = Date.now();
  process.stdout.write(`bench: ${what} ... `);
  try {
    execFileSync(command, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    console.log('failed');
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    throw new Error(
      `${what} failed; the benchmark needs a build that compiles:\n${output}`,
    );
  }
  console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Returns what was rebuilt. */
export function buildIfStale() {
  const rebuilt = [];
  const app = path.join(ROOT, 'dist/src/main.js');
  if (
    mtime(app) <
    Math.max(newest(path.join(ROOT, 'src'), isSource), libSources(), config())
  ) {
    run('npm run build (dist/ missing or stale)', 'npm', [
      'run',
      'build',
      '--silent',
    ]);
    rebuilt.push('dist');
  }
  if (buildServersIfStale()) {
    rebuilt.push('bench/.build');
  }
  return rebuilt;
}

const libSources = () =>
  newest(path.join(ROOT, 'libs/ws-middleware/src'), isSource);
const config = () =>
  Math.max(
    mtime(path.join(ROOT, 'tsconfig.json')),
    mtime(path.join(ROOT, 'package-lock.json')),
  );

/**
 * Compiles bench/tsconfig.json (the two TypeScript servers and, from its source, the library
 * they import) into bench/.build/ when it is older than its sources; true if it did.
 */
export function buildServersIfStale() {
  const built = ['bare-nest.server.js', 'full-stack.server.js'].map((name) =>
    mtime(path.join(ROOT, 'bench/.build/bench/servers', name)),
  );
  const inputs = Math.max(
    newest(path.join(ROOT, 'bench/servers'), (name) => name.endsWith('.ts')),
    mtime(path.join(ROOT, 'bench/tsconfig.json')),
    libSources(),
    config(),
  );
  if (built.every((time) => time >= inputs)) {
    return false;
  }
  run('tsc -p bench/tsconfig.json', process.execPath, [
    path.join(ROOT, 'node_modules/typescript/bin/tsc'),
    '-p',
    path.join(ROOT, 'bench/tsconfig.json'),
  ]);
  return true;
}

/**
 * Copies dist/ to bench/.build/app/ and returns the chat server's entry point there, so that a
 * `nest build` started elsewhere during the run (it empties dist/ first) cannot pull the server
 * from under a later trial.
 */
export function snapshotApp() {
  const target = path.join(ROOT, 'bench/.build/app');
  rmSync(target, { recursive: true, force: true });
  cpSync(path.join(ROOT, 'dist'), target, { recursive: true });
  const main = path.join(target, 'src/main.js');
  if (!existsSync(main)) {
    throw new Error('dist/src/main.js is missing: run npm run build');
  }
  return path.relative(ROOT, main);
}
