// The partitioned part of a seed (docs/chaos.md, "Partitioned streams"): about one seed in three also runs a
// partitioned stream `orders` (1–7 partitions) read in group `pg` by 1–4 instances of their own, with keyed entries
// (each key's entries numbered 0, 1, …), and faults of its own: instances joining and leaving (graceful close and
// kill -9), one frozen past the lease, Redis frozen past the lease, CLIENT KILL, a forced reset of the group backwards,
// and on a cluster the failover of a partition's master and a reshard of its slot. Drawn from a generator of its own
// (seeded from the seed), so the plain stream's draws of every seed stay what they were.
import { seededRandom } from '../chaos/chaos-faults.js';
import { heldEntries } from './partition-producer.js';
import type { PartitionFaultKind, PartitionPlan, PlannedFault } from './scenario.js';

/** Chosen so that none of the plain CI seeds (main.ts) is partitioned: the partitioned CI seeds are added to them. */
const SALT = 63;
const SHARE = 0.35;
const generator = (seed: number, salt: number): (() => number) =>
  seededRandom((Math.imul(seed, 0x9e3779b1) ^ salt) >>> 0);

export function drawPartitioned(seed: number, productionMs: number): PartitionPlan | undefined {
  const random = generator(seed, SALT);
  if (random() >= SHARE) return undefined;
  const int = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
  const partitions = int(1, 7);
  const instances = int(1, 4);
  const initial = int(1, instances);
  const leaseTime = int(1000, 2500);
  const entries = int(150, 400);
  const slowMs = int(Math.round(leaseTime / 2), 2 * leaseTime);
  // A partition runs one entry at a time: keep its slow runs to a fifth of production.
  const slowRate = Math.min(random() * 0.03, (0.2 * productionMs * partitions) / (slowMs * entries));
  const faults: PlannedFault<PartitionFaultKind>[] = [];
  const at = (): number => int(1000, productionMs - 1000);
  // Every instance not started at first joins during production.
  for (let slot = initial; slot < instances; slot++) {
    faults.push({ kind: 'p-join', at: at(), target: slot, ms: 0, pick: random() });
  }
  const kinds: PartitionFaultKind[] = ['p-leave', 'p-kill', 'p-freeze', 'redis-freeze', 'p-client-kill', 'p-reset'];
  for (let n = int(2, 5); n > 0; n--) {
    const kind = pick(kinds);
    const ms =
      kind === 'p-freeze'
        ? Math.round(leaseTime * (1.5 + 1.5 * random()))
        : kind === 'redis-freeze'
          ? Math.round(leaseTime * (1.3 + 0.7 * random()))
          : int(0, 3 * leaseTime);
    const target = kind === 'redis-freeze' ? int(0, partitions - 1) : int(0, instances - 1);
    faults.push({ kind, at: at(), target, ms, pick: random() });
  }
  faults.sort((a, b) => a.at - b.at);
  return {
    partitions,
    instances,
    initial,
    leaseTime,
    keys: int(3, 12),
    entries,
    count: pick([1, 2, 4, 8, 16]),
    maxDeliveries: int(3, 6),
    retryMs: int(50, 300),
    shutdownTimeout: int(1000, 4000),
    fastMs: int(0, 20),
    slowRate,
    slowMs,
    failRate: random() < 0.3 ? 0 : random() * 0.1,
    poison: Array.from({ length: int(0, 1) }, () => int(0, entries - 1)),
    faults,
  };
}

/**
 * On a cluster: every emit is durable (a replica confirmed it), and the schedule gets the failover of one partition's
 * master (losing its un-replicated writes) and a reshard of one partition's slot, where it has none. A `redis-freeze`
 * there freezes one partition's master past the lease; the cluster (node timeout 1 s) fails it over meanwhile.
 */
export function partitionedOnCluster(seed: number, plan: PartitionPlan, productionMs: number): PartitionPlan {
  const random = generator(seed, SALT ^ 0x5c1a57e2);
  const faults = [...plan.faults];
  const windows = { 'p-reshard': [0.15, 0.55], 'p-failover': [0.35, 0.75] } as const;
  for (const kind of ['p-failover', 'p-reshard'] as const) {
    const [from, to] = windows[kind];
    const at = Math.round(productionMs * (from + (to - from) * random()));
    const target = Math.floor(random() * plan.partitions);
    faults.push({ kind, at, target, ms: Math.floor(random() * 3000), pick: random() });
  }
  faults.sort((a, b) => a.at - b.at);
  // While any master is down the whole cluster answers CLUSTERDOWN, so no lease anywhere can be renewed: a lease must
  // outlast a failover (README, "Partitioned streams"; the harness's node timeout is 1 s, a failover here 1–3 s). The
  // freezes meant to outlast the lease are stretched with it.
  const leaseTime = plan.leaseTime + 2000;
  const stretch = (f: PlannedFault<PartitionFaultKind>): PlannedFault<PartitionFaultKind> =>
    f.kind === 'p-freeze' || f.kind === 'redis-freeze'
      ? { ...f, ms: Math.round((f.ms * leaseTime) / plan.leaseTime) }
      : f;
  return { ...plan, leaseTime, faults: faults.map(stretch) };
}

export function describePartitioned(p: PartitionPlan, productionMs: number): string {
  const faults = p.faults.map((f) => `${f.kind}(${f.target})@${(f.at / 1000).toFixed(1)}s`).join(' ');
  return (
    `partitioned: orders with ${p.partitions} partitions over ${p.instances} instances (${p.initial} at first), ` +
    `lease ${p.leaseTime} ms, ${p.entries} entries over ${p.keys} keys, count ${p.count}, maxDeliveries ` +
    `${p.maxDeliveries}, retry ${p.retryMs} ms, shutdownTimeout ${p.shutdownTimeout}, handlers 0-${p.fastMs} ms + ` +
    `${(p.slowRate * 100).toFixed(1)}% at ${p.slowMs} ms, fail ${(p.failRate * 100).toFixed(1)}%, poison ` +
    `[${p.poison.join(' ')}], ${heldEntries(p, productionMs).size} held\n  partition faults: ${faults}`
  );
}
