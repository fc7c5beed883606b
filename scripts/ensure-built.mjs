#!/usr/bin/env node
// Builds what is missing or older than its sources, and nothing else: `node scripts/ensure-built.mjs [lib|all]`.
// `npm test` runs it for the library (so the CLI works), `npm run demo` for the library and the apps. Quick when done.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LIB = ['libs/redis-streams/src', 'libs/redis-streams/package.json', 'libs/redis-streams/tsconfig.lib.json'];
const TARGETS = {
  lib: {
    script: 'build:lib',
    sources: [...LIB, 'libs/redis-streams/tsconfig.lib.cjs.json', 'tsconfig.base.json'],
    // The build writes the CommonJS marker last: it exists only after a complete build.
    outputs: ['libs/redis-streams/dist/esm/index.js', 'libs/redis-streams/dist/cjs/package.json'],
  },
  apps: {
    script: 'build:apps',
    sources: [...LIB, 'apps', 'tsconfig.apps.json', 'tsconfig.base.json'],
    outputs: ['gateway', 'email', 'push', 'bi'].map((app) => `dist/apps/${app}/src/main.js`),
  },
};

/** Newest modification time under `path` (a file or a directory), 0 if it doesn't exist. */
function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const name of readdirSync(path)) latest = Math.max(latest, newest(join(path, name)));
  return latest;
}

function stale({ sources, outputs }) {
  const built = outputs.map((file) => join(ROOT, file));
  if (built.some((file) => !existsSync(file))) return true;
  const oldestOutput = Math.min(...built.map((file) => statSync(file).mtimeMs));
  return Math.max(...sources.map((source) => newest(join(ROOT, source)))) > oldestOutput;
}

const which = process.argv[2] ?? 'all';
if (which !== 'lib' && which !== 'all') {
  console.error('Usage: node scripts/ensure-built.mjs [lib|all]');
  process.exit(2);
}
for (const name of which === 'all' ? ['lib', 'apps'] : ['lib']) {
  const target = TARGETS[name];
  if (!stale(target)) continue;
  console.log(`Building the ${name === 'lib' ? 'library' : 'sample apps'} (npm run ${target.script})…`);
  const build = spawnSync('npm', ['run', '--silent', target.script], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
