// Builds the browser chat: bundles src/web/app/main.ts (with @app/ws-client) into one script
// with esbuild, and copies the static files of src/web/public beside it.
//
//   node src/web/build.mjs           -> dist/src/web/public/{index.html, app.css, app.js}
//   node src/web/build.mjs --stdout  -> the bundle on stdout (what the server runs when it is
//                                       started from the TypeScript sources, as in the e2e specs)
import * as esbuild from 'esbuild';
import { cp, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const toStdout = process.argv.includes('--stdout');
const outdir = `${root}dist/src/web/public`;

const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: ['src/web/app/main.ts'],
  tsconfig: 'tsconfig.json',
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
  minify: !toStdout,
  legalComments: 'none',
  logLevel: toStdout ? 'error' : 'warning',
  write: !toStdout,
  outfile: toStdout ? 'app.js' : `${outdir}/app.js`,
});

if (toStdout) {
  process.stdout.write(result.outputFiles[0].text);
} else {
  await mkdir(outdir, { recursive: true });
  await cp(`${root}src/web/public`, outdir, { recursive: true });
  console.log(`web: built ${outdir}/app.js`);
}
