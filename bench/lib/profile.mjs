// Summarises a V8 .cpuprofile (from node --cpu-prof): self time per function and per package, as text for
// BENCHMARKS.md and as data for results.json.
import { relative } from 'node:path';

function packageOf(url, root) {
  if (!url) return '(native/V8)';
  if (url.startsWith('node:')) return 'node core';
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = path.slice(modules + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (path.includes('/libs/redis-streams/')) return 'nestjs-redis-streams';
  if (path.includes('/bench/')) return 'bench app';
  return relative(root, path);
}

export function summarizeProfile(profile, root, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMicros = new Map();
  const deltas = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (deltas[i] ?? 0));
  }
  const byFunction = new Map();
  const byPackage = new Map();
  let total = 0;
  for (const [id, micros] of selfMicros) {
    const { callFrame } = byId.get(id);
    const name = callFrame.functionName || '(anonymous)';
    const pkg = name === '(idle)' ? '(idle)' : name === '(garbage collector)' ? '(GC)' : packageOf(callFrame.url, root);
    const where = callFrame.url
      ? `${relative(root, callFrame.url.replace(/^file:\/\//, ''))}:${callFrame.lineNumber + 1}`
      : '';
    const key = `${name} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros);
    total += micros;
  }
  const rank = (map) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([name, micros]) => ({ name, ms: micros / 1000, pct: (100 * micros) / total }));
  const functions = rank(byFunction).slice(0, top);
  const packages = rank(byPackage);
  const line = (r) => `${r.pct.toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(6)} ms  ${r.name}`;
  const text = [
    `Total ${(total / 1000).toFixed(0)} ms sampled. Self time by package:`,
    ...packages.map(line),
    `Top ${top} functions by self time:`,
    ...functions.map(line),
  ].join('\n');
  return { totalMs: total / 1000, packages, functions, text };
}
