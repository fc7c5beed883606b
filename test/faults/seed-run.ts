// One seed, end to end: a private redis-server (AOF, appendfsync always) or Redis Cluster, optional latency proxies,
// the worker processes, entries produced while the seed's faults strike, a wait until every group has settled, a
// graceful stop, then the checks. Everything it starts is stopped in `finally`, whatever happened.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RedisStreamsClient } from 'nestjs-redis-streams';
import { WorkerPool } from '../chaos/chaos-processes.js';
import { produce } from '../chaos/chaos-producer.js';
import { checkDelivery, checkEmitsKept, type Verdict } from './check-delivery.js';
import { checkReplayAfterDestroy } from './check-destroy.js';
import { checkExits } from './check-exits.js';
import { checkPartitions } from './check-partitions.js';
import { checkBroadcast, checkCloses, checkFaultsApplied, checkOverlaps, checkPendingBound } from './check-timing.js';
import { ClusterUnderTest } from './cluster-under-test.js';
import { readEventLogs } from './event-log.js';
import { readEvidence, samplePending, type PendingSample } from './evidence.js';
import { type AppliedFault, FaultSchedule } from './fault-schedule.js';
import {
  type LeaseSample,
  readPartitionEvidence,
  sampleLeases,
  waitUntilPartitionsSettled,
} from './partition-evidence.js';
import { type AppliedPartitionFault, PartitionSchedule } from './partition-faults.js';
import { type KeyedEmit, produceKeyed } from './partition-producer.js';
import type { RedisUnderTest } from './redis-under-test.js';
import type { Scenario } from './scenario.js';
import { waitUntilSettled } from './settle.js';
import { StandaloneUnderTest } from './standalone-under-test.js';

const STREAM = 'jobs';
/** The counters of a seed's summary line (each check adds to its own). */
const STATS = [
  'runs',
  'dead-lettered',
  'trimmed-unhandled',
  'effects-lost-to-destroy',
  'lost-to-destroy',
  'effects-lost-to-trim',
  'overlaps-after-freeze',
  'overlaps-after-stall',
  'effects-after-destroy',
  'effects-after-reclaim',
  'broadcast-unreadable',
  'overlaps-after-destroy',
  'replayed-after-destroy',
  'destroys-unjudged',
  'closes',
  'slowest-close-ms',
  'max-pending-per-bound%',
  'broadcast-trimmed-unseen',
  'faults-not-applied',
  // On a cluster: emits made again after they failed, entries of failed emits that a failover took, and overlaps
  // with a run whose delivery it took.
  'emits-retried',
  'lost-unconfirmed',
  'overlaps-after-failover',
  // In a partitioned seed: overlaps in the plain groups after Redis itself was frozen.
  'overlaps-after-redis-freeze',
];

/**
 * On a cluster, an emit completes once a replica has the entry, so that it survives a failover (README, "Replica-
 * acknowledged emits"); 1 s is ample for a replica on loopback, and short enough to retry soon while none is there.
 */
const DURABILITY = { replicas: 1, timeout: 1000 };

/** Things to stop when the suite is interrupted (Ctrl-C) in the middle of a seed. */
export const live = new Set<() => void>();

export async function runSeed(s: Scenario, logDir: string): Promise<Verdict> {
  const verdict: Verdict = { violations: [], stats: Object.fromEntries(STATS.map((k) => [k, 0])) };
  // On a cluster every key of the run shares one hash tag, so the stream, its dead letters and the hashes the effects
  // write are in one slot: the effects are applied by one script with the ack, and the reshard moves them together.
  const run = s.cluster ? `{faults-${s.seed}}` : `faults-${s.seed}`;
  const key = `${run}:${STREAM}`;
  const eventDir = join(logDir, `seed-${s.seed}`);
  mkdirSync(eventDir, { recursive: true });
  const redis: RedisUnderTest = s.cluster
    ? await ClusterUnderTest.start(s.proxyDelayMs)
    : await StandaloneUnderTest.start(s.proxyDelayMs);
  const admin = redis.admin;
  let pool: WorkerPool | undefined;
  let client: RedisStreamsClient | undefined;
  let stopSampling: (() => Promise<void>) | undefined;
  let faults: FaultSchedule | undefined;
  // The partitioned stream's instances, producer and schedule (partition-scenario.ts), in a partitioned seed.
  const p = s.partitioned;
  const prun = `pfaults-${s.seed}`;
  const partitionKeys = Array.from({ length: p?.partitions ?? 0 }, (_, i) => `${prun}:orders:p${i}`);
  const peventDir = join(eventDir, 'partitioned');
  let ppool: WorkerPool | undefined;
  let pclient: RedisStreamsClient | undefined;
  let pfaults: PartitionSchedule | undefined;
  let stopLeases: (() => Promise<void>) | undefined;
  const killAll = (): void => {
    faults?.stop();
    pfaults?.stop();
    pool?.killAll();
    ppool?.killAll();
    redis.killNow();
  };
  live.add(killAll);
  try {
    const extraEnv = {
      FAULTS_EVENT_DIR: eventDir,
      FAULTS_SEED: String(s.seed),
      FAULTS_GROUPS: s.groups.map((g) => `${g.name}:${g.concurrency}`).join(','),
      FAULTS_BROADCAST: s.broadcast.join(','),
      FAULTS_FAST_MS: String(s.fastMs),
      FAULTS_SLOW_RATE: String(s.slowRate),
      FAULTS_SLOW_MS: String(s.slowMs),
      FAULTS_FAIL_RATE: String(s.failRate),
      FAULTS_MIN_IDLE_MS: String(s.minIdleTime),
      FAULTS_RETRY_MS: String(s.retryMs),
      FAULTS_COUNT: String(s.count),
      FAULTS_MAX_DELIVERIES: String(s.maxDeliveries),
      FAULTS_SHUTDOWN_MS: String(s.shutdownTimeout),
    };
    pool = new WorkerPool(
      s.workers,
      { ...redis.workerEnv, CHAOS_RUN: run, CHAOS_STREAM: STREAM, CHAOS_GROUP: '-' },
      eventDir,
      extraEnv,
    );
    await pool.startAll();
    client = new RedisStreamsClient({
      connection: redis.connection,
      keyPrefix: `${run}:`,
      ...(s.cluster ? { durability: DURABILITY } : {}),
    });
    await client.connect();

    const samples: PendingSample[] = [];
    stopSampling = samplePending(admin, key, s, samples);
    faults = new FaultSchedule(s, pool, redis, key, eventDir);
    const leases: LeaseSample[] = [];
    let keyed: Promise<KeyedEmit[]> = Promise.resolve([]);
    let pschedule: Promise<void> = Promise.resolve();
    if (p) {
      mkdirSync(peventDir, { recursive: true });
      ppool = new WorkerPool(
        p.instances,
        { ...redis.workerEnv, CHAOS_RUN: prun, CHAOS_STREAM: 'orders', CHAOS_GROUP: '-' },
        peventDir,
        {
          ...extraEnv,
          FAULTS_EVENT_DIR: peventDir,
          FAULTS_GROUPS: 'pg:1',
          FAULTS_BROADCAST: '',
          FAULTS_FAST_MS: String(p.fastMs),
          FAULTS_SLOW_RATE: String(p.slowRate),
          FAULTS_SLOW_MS: String(p.slowMs),
          FAULTS_FAIL_RATE: String(p.failRate),
          FAULTS_RETRY_MS: String(p.retryMs),
          FAULTS_COUNT: String(p.count),
          FAULTS_MAX_DELIVERIES: String(p.maxDeliveries),
          FAULTS_SHUTDOWN_MS: String(p.shutdownTimeout),
          FAULTS_PARTITIONS: String(p.partitions),
          FAULTS_LEASE_MS: String(p.leaseTime),
        },
        'p-worker',
      );
      pfaults = new PartitionSchedule(
        p,
        ppool,
        redis,
        faults.locks,
        {
          prefix: `${prun}:`,
          stream: `${prun}:orders`,
          partitions: partitionKeys,
          plain: key,
        },
        peventDir,
      );
      const schedule = pfaults;
      faults.partitionsOn = (port) => schedule.partitionsOnPort(port);
      for (let slot = 0; slot < p.initial; slot++) await pfaults.startSlot(slot);
      pclient = new RedisStreamsClient({
        connection: redis.connection,
        keyPrefix: `${prun}:`,
        partitions: { orders: p.partitions },
        ...(s.cluster ? { durability: DURABILITY } : {}),
      });
      await pclient.connect();
      stopLeases = sampleLeases(admin, partitionKeys, leases);
    }
    const poison = new Set(s.poison);
    const started = Date.now();
    if (p && pclient && pfaults) {
      keyed = produceKeyed(pclient, 'orders', p, s.seed, s.productionMs, {
        retry: s.cluster,
        onRetry: () => undefined,
      });
      pschedule = pfaults.run(started);
    }
    const [produced, , emits] = await Promise.all([
      produce(client, STREAM, {
        total: s.entries,
        durationMs: s.productionMs,
        batch: 10,
        payload: (seq) => (poison.has(seq) ? { seq, poison: true } : { seq }),
        // On one redis-server an emit waits out a restart in ioredis's offline queue; on a cluster it fails.
        ...(s.cluster ? { retryAfterMs: 100, onRetry: () => void verdict.stats['emits-retried']++ } : {}),
      }),
      faults.run(started),
      keyed,
      pschedule,
    ]);
    for (let slot = 0; slot < s.workers; slot++) if (!pool.running(slot)) await faults.restartSlot(slot);
    if (p && ppool && pfaults) {
      for (let slot = 0; slot < p.instances; slot++) if (!ppool.running(slot)) await pfaults.startSlot(slot);
    }
    const [settled, psettled] = await Promise.all([
      waitUntilSettled(admin, key, s, eventDir, 90_000),
      p ? waitUntilPartitionsSettled(admin, partitionKeys, 60_000) : undefined,
    ]);
    if (settled) verdict.violations.push(`[settle] ${settled}`);
    if (psettled) verdict.violations.push(`[p-settle] ${psettled}`);
    await stopSampling();
    await stopLeases?.();
    const finalStopAt = Date.now();
    await Promise.all([pool.stopAll(s.shutdownTimeout + 10_000), ppool?.stopAll((p?.shutdownTimeout ?? 0) + 10_000)]);
    // The plain checks hear of the partition faults that hit the plain stream's Redis too.
    const pApplied: AppliedPartitionFault[] = pfaults?.applied ?? [];
    const plainFaults: AppliedFault[] = [...faults.applied];
    for (const f of pApplied.filter((x) => !x.error)) {
      const as = (kind: AppliedFault['kind']): AppliedFault => ({ kind, start: f.start, end: f.end, detail: f.detail });
      // Another master's freeze or failover: with full coverage required, the cluster refused every command
      // (CLUSTERDOWN) for a while. Half of minIdleTime without refreshes lets entries look idle, as a frozen Redis.
      if (!f.touchesPlain && (f.clusterDownMs ?? 0) >= s.minIdleTime / 2) plainFaults.push(as('redis-freeze'));
      if (!f.touchesPlain) continue;
      if (f.kind === 'redis-freeze') plainFaults.push(as('redis-freeze'));
      if (f.kind === 'p-failover' || (f.kind === 'redis-freeze' && f.failedOver)) plainFaults.push(as('failover'));
      if (f.kind === 'p-reshard') plainFaults.push(as('reshard'));
    }

    const evidence = await readEvidence(admin, run, key, produced, {
      s,
      log: readEventLogs(eventDir),
      incarnations: pool.incarnations,
      faults: plainFaults,
      samples,
      finalStopAt,
    });
    verdict.stats['runs'] = evidence.log.runs.length;
    const overtaken = checkOverlaps(evidence, verdict);
    checkDelivery(evidence, overtaken, verdict);
    checkEmitsKept(evidence, verdict);
    checkCloses(evidence, verdict);
    checkPendingBound(evidence, verdict);
    checkBroadcast(evidence, verdict);
    checkFaultsApplied(evidence, verdict);
    checkReplayAfterDestroy(evidence, verdict);
    const stoppedBy = (list: { pid?: number }[]): Set<number> => new Set(list.flatMap((f) => (f.pid ? [f.pid] : [])));
    checkExits(
      'plain',
      pool.incarnations,
      evidence.log,
      stoppedBy(faults.applied.filter((f) => f.kind === 'kill' || f.kind === 'close')),
      finalStopAt,
      started,
      verdict,
    );
    verdict.stats['faults'] = faults.applied.length;
    if (p && ppool) {
      const pe = await readPartitionEvidence(admin, partitionKeys, s.cluster, {
        s,
        p,
        log: readEventLogs(peventDir),
        incarnations: ppool.incarnations,
        faults: pApplied,
        plainFaults: faults.applied,
        leases,
        emits: emits,
        started,
        finalStopAt,
      });
      checkPartitions(pe, verdict);
      const stopped = stoppedBy(pApplied.filter((f) => f.kind === 'p-kill' || f.kind === 'p-leave'));
      checkExits('p', ppool.incarnations, pe.log, stopped, finalStopAt, started, verdict);
      verdict.stats['p-faults'] = pApplied.length;
    }
    const t = (at: number): string => `${((at - started) / 1000).toFixed(1)}s`;
    const applied = [...faults.applied, ...pApplied].map(
      (f) => `${f.kind}@${t(f.start)}-${t(f.end)} ${f.detail}${f.error ? ` (${f.error})` : ''}`,
    );
    process.stdout.write(`  applied (production from ${started}): ${applied.join(', ')}\n`);
    return verdict;
  } catch (err) {
    verdict.violations.push(`[run] the run itself failed: ${err instanceof Error ? err.stack : String(err)}`);
    return verdict;
  } finally {
    faults?.stop();
    pfaults?.stop();
    await stopSampling?.();
    await stopLeases?.();
    pool?.killAll();
    ppool?.killAll();
    live.delete(killAll);
    await client?.close().catch(() => undefined);
    await pclient?.close().catch(() => undefined);
    await redis.stop();
  }
}
