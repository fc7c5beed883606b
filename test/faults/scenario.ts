// Everything a seed decides: the consumer processes and their settings, the handlers' latencies and failures, the
// entries (poison ones included), and the schedule of faults. Drawn once, up front, so a seed replays the same plan.
import { seededRandom } from '../chaos/chaos-faults.js';
import { describePartitioned, drawPartitioned } from './partition-scenario.js';

export type FaultKind =
  | 'kill'
  | 'freeze'
  | 'client-kill'
  | 'restart'
  | 'latency'
  | 'close'
  | 'destroy'
  | 'trim'
  | 'outage'
  // On a cluster only (cluster-scenario.ts): the stream's slot moved to another master; its master killed -9.
  | 'reshard'
  | 'failover'
  // Redis itself frozen (SIGSTOP of redis-server, or on a cluster of one partition's master) past the lease time.
  | 'redis-freeze';

/**
 * Faults of a partitioned seed's instances and partitions (partition-scenario.ts): an instance joins (its first start),
 * leaves (graceful close, or kill -9) and may come back; one frozen past the lease; CLIENT KILL of one of its
 * connections; a forced reset of the group backwards; on a cluster the failover of a partition's master and a reshard
 * of its slot. `redis-freeze` (above) is drawn here too, and lands on the plain stream's checks as well.
 */
export type PartitionFaultKind =
  | 'p-join'
  | 'p-leave'
  | 'p-kill'
  | 'p-freeze'
  | 'p-client-kill'
  | 'p-reset'
  | 'p-failover'
  | 'p-reshard'
  | 'redis-freeze';

export interface PlannedFault<K extends string = FaultKind> {
  kind: K;
  /** ms after production starts. */
  at: number;
  /** The worker slot (process faults), or the group index (destroy). */
  target: number;
  /** ms: downtime (kill, close), freeze length, latency window. */
  ms: number;
  /** A number in [0, 1) for choices made at run time: which connection (client-kill), MAXLEN or safe trim (trim). */
  pick: number;
}

export interface GroupPlan {
  name: string;
  concurrency: number;
}

export interface Scenario {
  seed: number;
  /** Runs on a 3-master + 3-replica Redis Cluster (`--cluster`, see cluster-scenario.ts) instead of one redis-server. */
  cluster: boolean;
  workers: number;
  groups: GroupPlan[];
  /** Consumer names (`worker-N`) that also run a @Broadcast reader. */
  broadcast: string[];
  count: number;
  minIdleTime: number;
  retryMs: number;
  maxDeliveries: number;
  shutdownTimeout: number;
  /** Handlers wait 0..fastMs, or slowMs (> minIdleTime) for a `slowRate` share of the entries. */
  fastMs: number;
  slowRate: number;
  slowMs: number;
  failRate: number;
  entries: number;
  productionMs: number;
  poison: number[];
  /** Workers reach Redis through a latency proxy with this base delay (ms), or directly when undefined. */
  proxyDelayMs: number | undefined;
  faults: PlannedFault[];
  /** A partitioned stream consumed beside the plain one (partition-scenario.ts), or undefined. */
  partitioned?: PartitionPlan;
}

export interface PartitionPlan {
  /** Partitions of the stream `orders` (1–7), read in group `pg` by up to `instances` processes (1–4). */
  partitions: number;
  instances: number;
  /** Instances started before production; the others join by a `p-join` fault. */
  initial: number;
  leaseTime: number;
  /** Entry keys `k0` …; each key's entries carry its own sequence number 0, 1, … */
  keys: number;
  entries: number;
  count: number;
  maxDeliveries: number;
  retryMs: number;
  shutdownTimeout: number;
  fastMs: number;
  slowRate: number;
  slowMs: number;
  failRate: number;
  /** Entry numbers (over all keys, in emit order) that always fail, so they are dead-lettered. */
  poison: number[];
  /** For p-* faults `target` is the instance slot (process faults) or the partition (Redis faults). */
  faults: PlannedFault<PartitionFaultKind>[];
}

export function drawScenario(seed: number): Scenario {
  const random = seededRandom(seed);
  const int = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
  const workers = int(2, 3);
  const groups = Array.from({ length: int(1, 3) }, (_, i) => ({
    name: `g${i + 1}`,
    concurrency: pick([1, 2, 4, 8, 16]),
  }));
  const broadcast = Array.from({ length: workers }, (_, i) => `worker-${i + 1}`).filter(() => random() < 0.4);
  const minIdleTime = int(1500, 3000);
  const productionMs = int(12_000, 18_000);
  const entries = int(300, 1200);
  // Keep the drawn work within what the slowest group can do while entries arrive, so each run can settle.
  const capacity = 0.3 * productionMs * workers * Math.min(...groups.map((g) => g.concurrency));
  const slowMs = Math.round(minIdleTime * (1.3 + random()));
  const slowRate = Math.min(random() * 0.03, capacity / slowMs / entries);
  const fastMs = Math.min(int(0, 30), Math.floor((2 * capacity) / entries));
  const proxyDelayMs = random() < 0.5 ? int(0, 5) : undefined;
  const kinds: FaultKind[] = ['kill', 'freeze', 'client-kill', 'restart', 'close', 'destroy', 'trim'];
  if (proxyDelayMs !== undefined) kinds.push('latency');
  const faults: PlannedFault[] = Array.from({ length: int(3, 8) }, () => {
    const kind = pick(kinds);
    const ms =
      kind === 'freeze'
        ? Math.round(minIdleTime * (1.5 + 1.5 * random()))
        : kind === 'latency'
          ? int(2000, 6000)
          : int(0, 2 * minIdleTime);
    return { kind, at: int(1000, productionMs), target: int(0, 2), ms, pick: random() };
  }).sort((a, b) => a.at - b.at);
  for (const fault of faults) fault.target = fault.target % (fault.kind === 'destroy' ? groups.length : workers);
  const scenario: Scenario = {
    seed,
    cluster: false,
    workers,
    groups,
    broadcast,
    count: pick([1, 2, 4, 8, 16, 32]),
    minIdleTime,
    retryMs: int(50, 1500),
    maxDeliveries: int(4, 8),
    shutdownTimeout: int(1000, 4000),
    fastMs,
    slowRate,
    slowMs,
    failRate: random() < 0.3 ? 0 : random() * 0.15,
    entries,
    productionMs,
    poison: Array.from({ length: int(0, 2) }, () => int(0, entries - 1)),
    proxyDelayMs,
    faults,
  };
  // Drawn last, so that adding it left every earlier draw of a seed as it was.
  if (random() < 0.35) {
    const at = int(1000, productionMs - 3000);
    faults.push({ kind: 'outage', at, target: 0, ms: int(2000, 5000), pick: 0 });
    faults.sort((a, b) => a.at - b.at);
  }
  // From a generator of its own, so every draw above stays what it was for every seed.
  scenario.partitioned = drawPartitioned(seed, productionMs);
  return scenario;
}

export function describeScenario(s: Scenario): string {
  const groups = s.groups.map((g) => `${g.name}(concurrency ${g.concurrency})`).join(' ');
  const faults = s.faults.map((f) => `${f.kind}@${(f.at / 1000).toFixed(1)}s`).join(' ');
  return (
    `seed ${s.seed}${s.cluster ? ' (cluster)' : ''}: ${s.workers} workers, groups ${groups}, broadcast [${s.broadcast.join(' ')}], count ${s.count}, ` +
    `minIdleTime ${s.minIdleTime}, shutdownTimeout ${s.shutdownTimeout}, maxDeliveries ${s.maxDeliveries}, ` +
    `retry ${s.retryMs} ms, handlers 0-${s.fastMs} ms + ${(s.slowRate * 100).toFixed(1)}% at ${s.slowMs} ms, ` +
    `fail ${(s.failRate * 100).toFixed(1)}%, ${s.entries} entries over ${s.productionMs} ms, poison [${s.poison.join(' ')}], ` +
    `proxy ${s.proxyDelayMs === undefined ? 'off' : `${s.proxyDelayMs} ms`}\n  faults: ${faults}` +
    (s.partitioned ? `\n  ${describePartitioned(s.partitioned, s.productionMs)}` : '')
  );
}
