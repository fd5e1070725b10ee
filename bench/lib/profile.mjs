// Reads a V8 `.cpuprofile` (written by the probe, or by `node --cpu-prof`) and returns where self
// time went: the top functions and the totals per package (node_modules/<package>, the library,
// the chat app, node: internals).
import { readFileSync } from 'node:fs';

function where(url) {
  if (!url) {
    return '(native/V8)';
  }
  if (url.startsWith('node:')) {
    return 'node: internals';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) {
    return pkg[1];
  }
  if (url.includes('/libs/ws-middleware/')) {
    return 'ws-middleware';
  }
  if (url.includes('/dist/src/')) {
    return 'chat app (dist/src)';
  }
  if (url.includes('/bench/')) {
    return 'bench server';
  }
  return url;
}

function short(url) {
  const pkg = /node_modules\/(.+)$/.exec(url);
  if (pkg) {
    return pkg[1];
  }
  const dist = /\/(libs\/.+|dist\/.+|bench\/servers\/.+)$/.exec(url);
  return dist ? dist[1] : url;
}

export function analyzeProfile(file, top = 10) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const functions = new Map();
  const packages = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id);
    const name = callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const key = `${name} ${callFrame.url ? `${short(callFrame.url)}:${callFrame.lineNumber + 1}` : ''}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
    const pkg = ['(garbage collector)', '(program)'].includes(name)
      ? name
      : where(callFrame.url);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const rank = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: us / total }));
  return {
    busyMs: total / 1000,
    idleMs: idle / 1000,
    functions: rank(functions),
    packages: rank(packages),
  };
}
