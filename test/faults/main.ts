// The fault-schedule suite's runner (started by test/faults/run.mjs, see there): runs seeds one after another, prints
// each seed's plan and verdict, the command that replays a failing seed, and last `N passed, N failed`.
//   npm run test:faults                     the fixed CI seeds (CI_SEEDS)
//   npm run test:faults -- --seed 17        one seed (replay); --seed 3,7 a list
//   npm run test:faults -- --seeds 200      seeds 1..200 (the soak); --from 1000 starts elsewhere
//   npm run test:faults -- --cluster        the same on a Redis Cluster, with a reshard and a failover (CI_CLUSTER_SEEDS
//                                           without --seed or --seeds; see cluster-scenario.ts)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWorkerRun } from '../chaos/global-setup.js';
import { onCluster } from './cluster-scenario.js';
import { describeScenario, drawScenario } from './scenario.js';
import { live, runSeed } from './seed-run.js';

/**
 * Together they apply every kind of fault (docs/chaos.md lists which seed applies which); about 4 minutes on 2 cores.
 * Seed 9 is the one partitioned seed (partition-scenario.ts): 5 partitions over 4 instances, joins, kill -9, Redis
 * frozen past the lease twice and restarted.
 */
const CI_SEEDS = [1, 3, 4, 5, 6, 17, 9];
/**
 * With --cluster: they reshard and fail over besides the faults they draw (docs/chaos.md); seed 22 is partitioned (2
 * over 3 instances, a forced reset, a kill -9), with a reshard of a partition's slot and the failover of its master.
 */
const CI_CLUSTER_SEEDS = [3, 10, 22];

function parseSeeds(args: string[], cluster: boolean): number[] {
  const value = (flag: string): number | undefined => {
    const i = args.indexOf(flag);
    if (i < 0) return undefined;
    const n = Number(args[i + 1]);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`${flag} needs a whole number, e.g. ${flag} 12; got ${args[i + 1]}`);
    return n;
  };
  const unknown = args.filter((a) => a.startsWith('--') && !['--seed', '--seeds', '--from', '--cluster'].includes(a));
  if (unknown.length > 0)
    throw new Error(`Unknown option ${unknown.join(' ')}: use --seed S, or --seeds N [--from S], and --cluster.`);
  const listed = args.indexOf('--seed');
  if (listed >= 0) {
    const seeds = String(args[listed + 1])
      .split(',')
      .map(Number);
    if (seeds.some((n) => !Number.isInteger(n) || n < 0)) {
      throw new Error(`--seed needs a seed or a list, e.g. --seed 12 or --seed 3,7; got ${args[listed + 1]}`);
    }
    return seeds;
  }
  const count = value('--seeds');
  const from = value('--from') ?? 1;
  if (count !== undefined) return Array.from({ length: count }, (_, i) => from + i);
  return cluster ? CI_CLUSTER_SEEDS : CI_SEEDS;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const cluster = args.includes('--cluster');
  const seeds = parseSeeds(args, cluster);
  process.env.CHAOS_WORKER_SCRIPT = buildWorkerRun('test/faults/faults-worker.mjs');
  const logDir = mkdtempSync(join(tmpdir(), 'redis-streams-faults-'));
  const failed: number[] = [];
  for (const seed of seeds) {
    const scenario = cluster ? onCluster(drawScenario(seed)) : drawScenario(seed);
    process.stdout.write(`\n${describeScenario(scenario)}\n`);
    const began = Date.now();
    const budget = scenario.productionMs + 240_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`seed ${seed} did not finish within ${budget / 1000} s`)), budget);
    });
    const verdict = await Promise.race([runSeed(scenario, logDir), timeout]).catch((err: Error) => {
      for (const stop of live) stop();
      return { violations: [`[run] ${err.message}`], stats: {} };
    });
    clearTimeout(timer);
    const stats = Object.entries(verdict.stats)
      .map(([k, n]) => `${k}=${n}`)
      .join(' ');
    const secs = ((Date.now() - began) / 1000).toFixed(0);
    if (verdict.violations.length === 0) {
      process.stdout.write(`seed ${seed}: passed in ${secs} s (${stats})\n`);
      continue;
    }
    failed.push(seed);
    const kinds = new Map<string, number>();
    for (const line of verdict.violations) {
      const kind = /^\[([a-z-]+)\]/.exec(line)?.[1] ?? '?';
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    const byKind = [...kinds].map(([k, n]) => `${k} ${n}`).join(', ');
    process.stdout.write(`seed ${seed}: FAILED in ${secs} s (${stats}), violations: ${byKind}\n`);
    mkdirSync(join(logDir, `seed-${seed}`), { recursive: true });
    writeFileSync(join(logDir, `seed-${seed}`, 'violations.txt'), verdict.violations.join('\n') + '\n');
    for (const line of verdict.violations.slice(0, 15)) process.stdout.write(`  - ${line}\n`);
    if (verdict.violations.length > 15) process.stdout.write(`  … and ${verdict.violations.length - 15} more\n`);
    const replay = `npm run test:faults -- --seed ${seed}${cluster ? ' --cluster' : ''}`;
    process.stdout.write(`  logs: ${join(logDir, `seed-${seed}`)}\n  replay: ${replay}\n`);
  }
  if (failed.length === 0 && !process.env.FAULTS_KEEP_LOGS) rmSync(logDir, { recursive: true, force: true });
  if (failed.length > 0) process.stdout.write(`\nfailed seeds: ${failed.join(' ')}\n`);
  process.stdout.write(`${seeds.length - failed.length} passed, ${failed.length} failed\n`);
  return failed.length === 0 ? 0 : 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const stop of live) stop();
    process.stdout.write(`\ninterrupted (${signal}): workers and redis-server stopped\n`);
    process.exit(130);
  });
}
main().then(
  (code) => process.exit(code),
  (err: Error) => {
    for (const stop of live) stop();
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exit(2);
  },
);
