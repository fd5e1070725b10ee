#!/usr/bin/env node
// Consumer test of the published package (`npm run test:consumer`, after `npm run build:lib`):
//   1. `npm pack` libs/ws-middleware, and check that the tarball holds only what a consumer needs;
//   2. copy test/consumer/fixture (a minimal Nest 12 app) to a fresh directory OUTSIDE the
//      repository, so that nothing resolves from the repository's node_modules by accident;
//   3. `npm install` the tarball there (the tarball itself, with its own `dependencies`);
//   4. provide the peers (see CONSUMER_INSTALL below) and check that every peer is there;
//   5. compile the fixture with tsc against the installed package's declarations (skipLibCheck off);
//   6. run the fixture's smoke e2e (`node --test`, real ws clients).
//
// CONSUMER_INSTALL=link (default): the tarball is installed with `--legacy-peer-deps`, then the
//   fixture's other packages (the peers, typescript, @types/node) are symlinked from the
//   repository's node_modules, which `npm ci` already filled: fast, and the same versions as the
//   app. CONSUMER_INSTALL=registry: one plain `npm install --prefer-offline` of the fixture's
//   package.json, peers from the registry (or npm's cache), as a consumer would do.
// KEEP_CONSUMER_DIR=1 keeps the directory; it is also kept, and printed, when a step fails.
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const LIBRARY = path.join(ROOT, 'libs/ws-middleware');
const FIXTURE = path.join(HERE, 'fixture');
const MODE = process.env.CONSUMER_INSTALL ?? 'link';
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NPM_QUIET = ['--no-audit', '--no-fund', '--loglevel=error'];

/** What a consumer's tarball may hold: the manifest, docs, and compiled JS with declarations. */
const ALLOWED_FILE =
  /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/.+\.(js|d\.ts))$/;
const FORBIDDEN_FILE =
  /(\.spec\.|\.e2e-spec\.|\.test\.|\.map$|\.tsbuildinfo$|^src\/|\/test\/)/;

const started = Date.now();
const timings = [];
const work = mkdtempSync(path.join(tmpdir(), 'ws-middleware-consumer-'));
const app = path.join(work, 'app');

function step(name, action) {
  const at = Date.now();
  process.stdout.write(`consumer: ${name} ... `);
  const result = action();
  const seconds = (Date.now() - at) / 1000;
  timings.push([name, seconds]);
  console.log(`${seconds.toFixed(1)} s`);
  return result;
}

function run(
  command,
  args,
  cwd,
  { inherit = false, timeoutMs = 120_000 } = {},
) {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    throw new Error(
      `${[command, ...args].join(' ')} failed in ${cwd}${output ? `:\n${output}` : ''}`,
    );
  }
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

function pack() {
  if (!existsSync(path.join(LIBRARY, 'dist/index.js'))) {
    throw new Error(
      'libs/ws-middleware/dist is missing: run `npm run build:lib` first',
    );
  }
  const [result] = JSON.parse(
    run(
      NPM,
      ['pack', '--json', '--pack-destination', work, ...NPM_QUIET],
      LIBRARY,
    ),
  );
  const files = result.files.map((file) => file.path);
  const unexpected = files.filter(
    (file) => !ALLOWED_FILE.test(file) || FORBIDDEN_FILE.test(file),
  );
  if (unexpected.length > 0) {
    throw new Error(
      `the tarball holds files a consumer does not need: ${unexpected.join(', ')}`,
    );
  }
  for (const required of [
    'package.json',
    'README.md',
    'CHANGELOG.md',
    'LICENSE',
    'dist/index.js',
    'dist/index.d.ts',
  ]) {
    if (!files.includes(required)) {
      throw new Error(`the tarball lacks ${required}`);
    }
  }
  // The fixture depends on file:../ws-middleware-nestjs.tgz.
  renameSync(
    path.join(work, result.filename),
    path.join(work, 'ws-middleware-nestjs.tgz'),
  );
  return {
    name: result.name,
    version: result.version,
    files: files.length,
    size: result.size,
  };
}

function stageFixture() {
  cpSync(FIXTURE, app, {
    recursive: true,
    filter: (source) => !/[\\/](node_modules|dist)$/.test(source),
  });
}

function installLinked(manifest) {
  // Only the tarball and its own dependencies come from npm; the package.json lists nothing else
  // while npm runs, so that npm neither fetches nor prunes the packages linked afterwards.
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify(
      { name: manifest.name, private: true, type: 'module' },
      null,
      2,
    ),
  );
  run(
    NPM,
    [
      'install',
      '../ws-middleware-nestjs.tgz',
      '--no-save',
      '--legacy-peer-deps',
      '--ignore-scripts',
      '--prefer-offline',
      ...NPM_QUIET,
    ],
    app,
  );
  writeFileSync(
    path.join(app, 'package.json'),
    `${JSON.stringify(manifest, null, 2)}\n`,
  );
  const wanted = Object.keys({
    ...manifest.dependencies,
    ...manifest.devDependencies,
  }).filter((name) => !manifest.dependencies[name]?.startsWith('file:'));
  const linked = [];
  for (const name of wanted) {
    const target = path.join(app, 'node_modules', name);
    if (existsSync(target)) {
      continue; // installed by npm as a dependency of the tarball (e.g. ws)
    }
    const source = path.join(ROOT, 'node_modules', name);
    if (!existsSync(source)) {
      throw new Error(
        `${name} is not in the repository's node_modules: run npm ci first`,
      );
    }
    mkdirSync(path.dirname(target), { recursive: true });
    symlinkSync(source, target, 'junction');
    linked.push(name);
  }
  return linked.length;
}

function installFromRegistry() {
  run(
    NPM,
    ['install', '--prefer-offline', '--ignore-scripts', ...NPM_QUIET],
    app,
    {
      timeoutMs: 300_000,
    },
  );
}

/** `version` satisfies `range`, for the range forms a package.json here uses (^, >=, ||). */
function satisfies(version, range) {
  const parse = (text) => {
    const match = /^(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
    if (!match) {
      throw new Error(`unsupported version or range "${text}"`);
    }
    return match.slice(1, 4).map(Number);
  };
  const compare = (a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
  const have = parse(version);
  return range.split('||').some((part) => {
    const text = part.trim();
    if (text.startsWith('>=')) {
      return compare(have, parse(text.slice(2))) >= 0;
    }
    if (text.startsWith('^')) {
      const low = parse(text.slice(1));
      const fixed = low[0] > 0 ? 1 : low[1] > 0 ? 2 : 3;
      return (
        compare(have, low) >= 0 &&
        have.slice(0, fixed).every((n, i) => n === low[i])
      );
    }
    throw new Error(`unsupported range "${range}"`);
  });
}

/** Every peer of the installed package is installed for the app, in the declared range. */
function checkPeers() {
  const installed = readJson(
    path.join(app, 'node_modules/@ws-middleware/nestjs/package.json'),
  );
  const problems = [];
  const found = [];
  for (const [name, range] of Object.entries(
    installed.peerDependencies ?? {},
  )) {
    const manifest = path.join(app, 'node_modules', name, 'package.json');
    if (!existsSync(manifest)) {
      problems.push(`${name}@${range} is not installed`);
      continue;
    }
    const { version } = readJson(manifest);
    if (!satisfies(version, range)) {
      problems.push(`${name}@${version} is outside the peer range ${range}`);
    }
    found.push(`${name}@${version}`);
  }
  if (problems.length > 0) {
    throw new Error(`peer dependencies: ${problems.join('; ')}`);
  }
  return found;
}

let failed = false;
try {
  const packed = step('npm pack libs/ws-middleware', pack);
  console.log(
    `consumer:   ${packed.name}@${packed.version}: ${packed.files} files, ${(packed.size / 1024).toFixed(1)} kB packed`,
  );
  step('copy test/consumer/fixture', stageFixture);
  const manifest = readJson(path.join(app, 'package.json'));
  if (MODE === 'registry') {
    step('npm install (registry, --prefer-offline)', installFromRegistry);
  } else if (MODE === 'link') {
    const linked = step('npm install the tarball, link the peers', () =>
      installLinked(manifest),
    );
    console.log(
      `consumer:   ${linked} packages linked from the repository's node_modules`,
    );
  } else {
    throw new Error(`CONSUMER_INSTALL must be link or registry, not ${MODE}`);
  }
  const peers = step('check the peer dependencies', checkPeers);
  console.log(`consumer:   peers: ${peers.join(', ')}`);
  step('tsc -p fixture (against the installed declarations)', () =>
    run(
      process.execPath,
      [path.join(app, 'node_modules/typescript/bin/tsc'), '-p', app],
      app,
    ),
  );
  step('node --test e2e/smoke.test.mjs', () =>
    run(
      process.execPath,
      ['--test', '--test-reporter=spec', 'e2e/smoke.test.mjs'],
      app,
      {
        inherit: true,
        timeoutMs: 60_000,
      },
    ),
  );
} catch (error) {
  failed = true;
  console.log('failed');
  console.error(
    `\nconsumer test FAILED: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
  );
}

const total = ((Date.now() - started) / 1000).toFixed(1);
if (failed || process.env.KEEP_CONSUMER_DIR) {
  console.log(`consumer: kept ${work}`);
} else {
  rmSync(work, { recursive: true, force: true });
}
console.log(
  `consumer: ${failed ? 'FAILED' : 'passed'} in ${total} s (${timings
    .map(([name, seconds]) => `${name.split(' (')[0]} ${seconds.toFixed(1)} s`)
    .join(', ')})`,
);
process.exitCode = failed ? 1 : 0;
