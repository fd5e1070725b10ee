// Builds what the benchmark runs, only when it is missing or older than its sources:
// `npm run build` (the chat server and the library in dist/), then bench/tsconfig.json (the two
// TypeScript servers, into bench/.build/).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
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
    execFileSync(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    console.log('failed');
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    throw new Error(`${what} failed; the benchmark needs a build that compiles:\n${output}`);
  }
  console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Returns what was rebuilt. */
export function buildIfStale() {
  const rebuilt = [];
  const outputs = [
    path.join(ROOT, 'dist/src/main.js'),
    path.join(ROOT, 'dist/libs/ws-middleware/src/index.js'),
  ];
  const sources = Math.max(
    newest(path.join(ROOT, 'src'), isSource),
    newest(path.join(ROOT, 'libs'), isSource),
    mtime(path.join(ROOT, 'package-lock.json')),
  );
  if (outputs.some((file) => mtime(file) < sources)) {
    run('npm run build (dist/ missing or stale)', 'npm', ['run', 'build', '--silent']);
    rebuilt.push('dist');
  }
  const servers = path.join(ROOT, 'bench/servers');
  const built = ['bare-nest.server.js', 'full-stack.server.js'].map((name) =>
    mtime(path.join(ROOT, 'bench/.build', name)),
  );
  const inputs = Math.max(
    newest(servers, (name) => name.endsWith('.ts')),
    mtime(path.join(ROOT, 'bench/tsconfig.json')),
    mtime(outputs[1]),
  );
  if (built.some((time) => time < inputs)) {
    run('tsc -p bench/tsconfig.json', process.execPath, [
      path.join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      path.join(ROOT, 'bench/tsconfig.json'),
    ]);
    rebuilt.push('bench/.build');
  }
  return rebuilt;
}
