import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A file of the browser chat, ready to send. */
export interface WebAsset {
  body: string;
  contentType: string;
}

/** The files `GET /web/:file` serves, and their types. */
export const WEB_ASSET_TYPES: Readonly<Record<string, string>> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'index.html': 'text/html; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/**
 * Headers of every chat page response: a Content-Security-Policy that allows only this origin
 * (the script and the style are separate files; nothing inline, no eval, no third party), and the
 * usual hardening.
 */
export const WEB_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cache-Control': 'no-cache',
};

const here = dirname(fileURLToPath(import.meta.url));
/** True under ts-jest or a TS loader: the bundle is built from the sources, never read stale. */
const fromSources = import.meta.url.endsWith('.ts');
/** The repository root: `src/web` -> `..`/`..`; `dist/src/web` -> `..`/`..`/`..`. */
const root = join(here, fromSources ? '../..' : '../../..');
const publicDirs = [join(here, 'public'), join(root, 'src/web/public')];
const buildScript = join(root, 'src/web/build.mjs');

const cache = new Map<string, Promise<WebAsset>>();

/**
 * Whether an `Accept` header lists `text/html` (as browsers send for a page); `*\/*` alone does
 * not count, so API clients keep getting JSON.
 */
export function acceptsHtml(accept: string | undefined): boolean {
  if (!accept) {
    return false;
  }
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((part) => part.trim());
    const quality = params.find((param) => param.startsWith('q='));
    return (
      type.toLowerCase() === 'text/html' &&
      (quality === undefined || Number(quality.slice(2)) > 0)
    );
  });
}

/**
 * A file of the browser chat: from `dist/src/web/public` after `npm run build`, else the static
 * files from `src/web/public` and the bundle built on the fly (once per process) with
 * `src/web/build.mjs --stdout`. Rejects for an unknown name.
 */
export function loadWebAsset(name: string): Promise<WebAsset> {
  let asset = cache.get(name);
  if (!asset) {
    asset = readAsset(name);
    // A failure (e.g. esbuild missing) is not cached: the next request tries again.
    asset.catch(() => cache.delete(name));
    cache.set(name, asset);
  }
  return asset;
}

async function readAsset(name: string): Promise<WebAsset> {
  const contentType = Object.hasOwn(WEB_ASSET_TYPES, name)
    ? WEB_ASSET_TYPES[name]
    : undefined;
  if (contentType === undefined) {
    throw new Error(`Unknown web asset "${name}"`);
  }
  const built = join(here, 'public', name);
  if (name === 'app.js' && (fromSources || !existsSync(built))) {
    return { body: await bundleFromSources(), contentType };
  }
  for (const dir of publicDirs) {
    const path = join(dir, name);
    if (existsSync(path)) {
      return { body: await readFile(path, 'utf8'), contentType };
    }
  }
  throw new Error(`Web asset "${name}" not found; run npm run build`);
}

function bundleFromSources(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [buildScript, '--stdout'],
      { cwd: root, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(
              `Building the chat page failed: ${stderr || error.message}`,
            ),
          );
        } else {
          resolve(stdout);
        }
      },
    );
  });
}
