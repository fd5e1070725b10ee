import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';

const ROOT = process.cwd();
/** What `npm run build` produces and `npm start` runs. */
const DIST_MAIN = resolve(ROOT, 'dist/src/main.js');
/** A private build, made when `dist` is missing or older than the sources. */
const CACHE_DIR = resolve(ROOT, 'node_modules/.cache/ws-middleware-security');
const CACHE_MAIN = join(CACHE_DIR, 'out/src/main.js');
const BUILD_TIMEOUT_MS = 150_000;

/** Newest modification time of the sources and build configuration the server is made of. */
function newestSource(): number {
  let newest = 0;
  const visit = (path: string): void => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) {
        visit(join(path, entry));
      }
    } else if (!path.endsWith('.spec.ts')) {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  for (const path of [
    'src',
    'libs/ws-middleware/src',
    'tsconfig.json',
    'tsconfig.build.json',
    'nest-cli.json',
    'package-lock.json',
  ]) {
    visit(resolve(ROOT, path));
  }
  return newest;
}

function freshEntry(main: string, sources: number): boolean {
  try {
    return statSync(main).mtimeMs >= sources;
  } catch {
    return false;
  }
}

/**
 * The compiled server to spawn: `dist/src/main.js` when `npm run build` has run since the sources
 * last changed (CI builds before testing), otherwise a private `nest build` into
 * `node_modules/.cache` (the Nest CLI refuses an outDir outside the project), so that a fresh clone
 * runs the spec too and a concurrent `npm run build` never pulls `dist` from under it.
 */
export async function builtServerEntry(): Promise<string> {
  const sources = newestSource();
  if (freshEntry(DIST_MAIN, sources)) {
    return DIST_MAIN;
  }
  if (freshEntry(CACHE_MAIN, sources)) {
    return CACHE_MAIN;
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  const tsconfig = join(CACHE_DIR, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: relative(CACHE_DIR, resolve(ROOT, 'tsconfig.build.json')),
      compilerOptions: {
        outDir: './out',
        incremental: false,
        sourceMap: false,
        declaration: false,
      },
    }),
  );
  const cli = resolve(ROOT, 'node_modules/@nestjs/cli/bin/nest.js');
  const child = spawn(
    process.execPath,
    [cli, 'build', '--path', relative(ROOT, tsconfig)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolveExit, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `nest build did not finish within ${BUILD_TIMEOUT_MS} ms: ${output}`,
        ),
      );
    }, BUILD_TIMEOUT_MS);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolveExit(exitCode);
    });
  });
  if (code !== 0 || !freshEntry(CACHE_MAIN, sources)) {
    throw new Error(`nest build failed (exit ${code}): ${output}`);
  }
  return CACHE_MAIN;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        resolvePort(typeof address === 'object' && address ? address.port : 0),
      );
    });
  });
}

/** A spawned server process and everything it printed. */
export interface ServerProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with how the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `node <entry>` with only the given environment (plus PATH), never the caller's. */
export function spawnServer(
  entry: string,
  env: Record<string, string>,
): ServerProcess {
  const child = spawn(process.execPath, [entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
  }>((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  return { child, output: () => output, exited };
}
