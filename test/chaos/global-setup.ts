// The chaos workers are separate Node processes that import the BUILT library, not its source. This compiles the
// library with its own build config (libs/redis-streams/tsconfig.lib.json, the ESM half of `npm run build:lib`) into a
// directory of this run's own, next to a copy of the worker script, and tells the suite where that is
// (CHAOS_WORKER_SCRIPT).
//
// Why not the shared libs/redis-streams/dist: other work in the same checkout rebuilds it (the build starts with
// `rm -rf dist`), so a worker restarting mid-run could find no library, and a copy taken during someone's build could
// be half empty. A private build also always matches the current source. From its directory under node_modules/.cache,
// the worker still imports `nestjs-redis-streams` by package name and gets the built ESM code, and every other import
// (Nest, ioredis) resolves up the tree to the repository's node_modules, as an installed package's would.
//
// Jest loads this file without the suite's module mapping, so it imports nothing local.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository: the nearest directory up from this file with the library in it (this file also runs transpiled, from
 * test/faults' run directory under node_modules/.cache). */
function findRepoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'libs/redis-streams/package.json'))) return dir;
  }
  throw new Error('test/chaos/global-setup.ts: no libs/redis-streams/package.json above this file.');
}

const REPO_ROOT = findRepoRoot();
const LIB_DIR = join(REPO_ROOT, 'libs/redis-streams');
const CACHE_DIR = join(REPO_ROOT, 'node_modules/.cache');
const PREFIX = 'nestjs-redis-streams-chaos-';

/** Removes the build directories of earlier runs whose process is gone. */
function removeStaleRuns(): void {
  if (!existsSync(CACHE_DIR)) return;
  for (const name of readdirSync(CACHE_DIR)) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length));
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) continue;
    rmSync(join(CACHE_DIR, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds the library into `node_modules/.cache/nestjs-redis-streams-chaos-<pid>` and copies `workerScript` (a path
 * relative to the repository) beside it; returns the copy's path. The fault-schedule suite (test/faults) uses it too.
 */
export function buildWorkerRun(workerScript: string): string {
  removeStaleRuns();
  const runDir = join(CACHE_DIR, `${PREFIX}${process.pid}`);
  const packageDir = join(runDir, 'node_modules/nestjs-redis-streams');
  mkdirSync(packageDir, { recursive: true });
  copyFileSync(join(LIB_DIR, 'package.json'), join(packageDir, 'package.json'));
  process.stdout.write('\nchaos: building the library for the worker processes (tsconfig.lib.json, ESM)\n');
  // Declarations and source maps only slow the build down: the emitted JavaScript is the same as the package's.
  execFileSync(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(LIB_DIR, 'tsconfig.lib.json'),
      '--outDir',
      join(packageDir, 'dist/esm'),
      '--declaration',
      'false',
      '--sourceMap',
      'false',
    ],
    { cwd: REPO_ROOT, stdio: 'inherit' },
  );
  const worker = join(runDir, basename(workerScript));
  copyFileSync(join(REPO_ROOT, workerScript), worker);
  return worker;
}

export default function globalSetup(): void {
  // Jest runs this suite in band (maxWorkers 1), and would pass the environment on to workers it started after this.
  process.env.CHAOS_WORKER_SCRIPT = buildWorkerRun('test/chaos/chaos-worker.mjs');
}
