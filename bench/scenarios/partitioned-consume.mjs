// Scenario `partitions`: a partitioned stream's backlog consumed by 1, 2 and 4 Nest processes in one group, against one
// plain stream consumed by one process, all on a private 3-master Redis Cluster started for the scenario. The
// partitions are spread evenly over the masters; the plain stream lives on one of them.
import { cpus } from 'node:os';
import { balancedName, owners, partitionKeys, settledOwners } from '../lib/partitions.mjs';
import { fill, payloadJson } from '../lib/payload.mjs';
import { redisCpu, waitDrained } from '../lib/redis-info.mjs';
import { startCluster } from '../lib/redis-cluster.mjs';
import { interleave, medianOf } from '../lib/rounds.mjs';
import { fmtRate, fmtRatio } from '../lib/stats.mjs';

const PARTITIONS = 8;
/** Short leases, so the fair shares settle within a few seconds of the last process joining (renewed every third). */
const LEASE_MS = 3000;
const PROCESSES = [1, 2, 4];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function partitionedConsume({ config, freshKey, nestWorker }) {
  const cluster = await startCluster(3);
  const redis = cluster.client();
  const clusterCpuMs = async () => {
    let sum = 0;
    for (const node of redis.nodes('master')) sum += await redisCpu(node);
    return sum;
  };
  let groupSeq = 0;

  /**
   * The backlog of one stream, filled once and consumed by every run through a group of its own (created at `$`,
   * then moved to `0`): every run reads the same entries in the same layout, and no lease or member of one run's
   * group is seen by the next.
   */
  async function backlog(partitioned) {
    const entries = config.entries;
    const stream = partitioned ? await balancedName(cluster, freshKey('partitioned'), PARTITIONS) : freshKey('plain');
    const env = { REDIS_CLUSTER: cluster.nodes, STREAM: stream };
    if (partitioned) {
      Object.assign(env, { PARTITIONS: String(PARTITIONS), PARTITION_LEASE_MS: String(LEASE_MS) });
      // Emitted by our client with a key per entry (`k<n>`), so the keys spread the entries over the partitions.
      const producer = await nestWorker({ ...env, BENCH_MODE: 'emit', KEYED: '1', TOTAL: String(entries) });
      producer.send({ type: 'go' });
      await producer.next('done', 300_000);
      await producer.stop();
    } else {
      await fill(redis, stream, entries);
    }
    const keys = partitioned ? partitionKeys(stream, PARTITIONS) : [stream];
    const lengths = await Promise.all(keys.map((key) => redis.xlen(key)));
    if (lengths.reduce((a, b) => a + b, 0) !== entries) throw new Error(`${stream}: filled ${lengths} of ${entries}`);
    return { stream, keys, env, partitioned, perPartition: lengths };
  }

  /** Lets `processes` consumers of a new group settle, hands them the whole backlog at once and times them. */
  async function consume({ stream, keys, env, partitioned }, processes) {
    const group = `bench-group-${++groupSeq}`;
    const entries = (await Promise.all(keys.map((key) => redis.xlen(key)))).reduce((a, b) => a + b, 0);
    for (const key of keys) await redis.xgroup('CREATE', key, group, '$');
    const names = Array.from({ length: processes }, (_, i) => `${group}-${i}`);
    const workers = await Promise.all(
      names.map((name) => nestWorker({ ...env, BENCH_MODE: 'group', GROUP: group, CONSUMER: name })),
    );
    const before = partitioned ? await settledOwners(redis, keys, group, names) : await sleep(200);
    const cpuBefore = workers.reduce((sum, w) => sum + w.cpuMs(), 0);
    const redisCpuBefore = await clusterCpuMs();
    const started = performance.now();
    const wakeIds = await Promise.all(
      keys.map(async (key, i) => {
        const replies = await redis
          .multi()
          .xgroup('SETID', key, group, '0', 'ENTRIESREAD', '0')
          .xadd(key, '*', 'data', payloadJson(entries + i))
          .exec();
        return replies[1][1];
      }),
    );
    // One partition at a time, so the polling costs Redis what it does for one stream; the last one seen drained
    // is when they all were.
    let finished;
    for (const [i, key] of keys.entries()) finished = await waitDrained(redis, key, group, wakeIds[i]);
    const cpuMs = workers.reduce((sum, w) => sum + w.cpuMs(), 0) - cpuBefore;
    const redisCpuMs = (await clusterCpuMs()) - redisCpuBefore;
    const after = partitioned ? await owners(redis, keys, group) : undefined;
    const results = await Promise.all(workers.map((w) => w.stop()));
    const processed = results.reduce((sum, r) => sum + r.processed, 0);
    const total = entries + keys.length;
    if (processed < total) throw new Error(`${stream}: ${processed} of ${total} entries reached handlers`);
    for (const key of keys) await redis.xgroup('DESTROY', key, group);
    await redis.unlink(`${stream}:members:${group}`);
    const seconds = (finished - started) / 1000;
    return {
      rate: total / seconds,
      seconds,
      cpuUs: (1000 * cpuMs) / total,
      redisCpuUs: (1000 * redisCpuMs) / total,
      // A lease lost mid-run (a process stalled past LEASE_MS) means a handover was timed too: flagged, not hidden.
      ownersChanged: partitioned ? JSON.stringify(before) !== JSON.stringify(after) : undefined,
    };
  }

  try {
    const plain = await backlog(false);
    const partitioned = await backlog(true);
    const steps = { plain: () => consume(plain, 1) };
    for (const n of PROCESSES) steps[`partitioned${n}`] = () => consume(partitioned, n);
    const rounds = await interleave(`partitioned stream (${PARTITIONS} partitions)`, config.scaleRounds, steps);
    return summarize(rounds, partitioned.perPartition);
  } finally {
    redis.disconnect();
    await cluster.stop();
  }
}

function summarize(rounds, perPartition) {
  const m = { plain: medianOf(rounds, (r) => r.plain.rate), plainCpuUs: medianOf(rounds, (r) => r.plain.cpuUs) };
  const rows = [];
  for (const n of PROCESSES) {
    const name = `partitioned${n}`;
    m[name] = medianOf(rounds, (r) => r[name].rate);
    m[`${name}Ratio`] = medianOf(rounds, (r) => r[name].rate / r.plain.rate);
    m[`${name}CpuUs`] = medianOf(rounds, (r) => r[name].cpuUs);
    m[`${name}RedisCpuUs`] = medianOf(rounds, (r) => r[name].redisCpuUs);
    const changed = rounds.filter((r) => r[name].ownersChanged).length;
    rows.push([
      `${n === 1 ? `9. partitioned stream (${PARTITIONS} over 3 masters),` : '  '} ${n} process${n > 1 ? 'es' : ''}`,
      fmtRate(m[name]),
      `${fmtRate(m.plain)} (1 stream, 1 process)`,
      `${fmtRatio(m[`${name}Ratio`])}${changed ? ` (owners changed in ${changed} round(s))` : ''}`,
    ]);
  }
  m.plainRedisCpuUs = medianOf(rounds, (r) => r.plain.redisCpuUs);
  const cpu = PROCESSES.map((n) => `${m[`partitioned${n}CpuUs`].toFixed(1)}`).join(' / ');
  const redisCpu = PROCESSES.map((n) => `${m[`partitioned${n}RedisCpuUs`].toFixed(1)}`).join(' / ');
  rows.push(
    ['   CPU µs/entry of the consumers (1/2/4)', cpu, m.plainCpuUs.toFixed(1), ''],
    ['   CPU µs/entry of the 3 masters (1/2/4)', redisCpu, m.plainRedisCpuUs.toFixed(1), ''],
  );
  const cores = cpus().length;
  const notes = [
    `Row 9: this machine has ${cores} cores, shared by the 3 masters, the consumer processes and the bench; ` +
      `more processes than cores can't scale linearly. Each partition is read by one process, one entry at a time; ` +
      `the keys put ${Math.min(...perPartition)}-${Math.max(...perPartition)} entries in each partition.`,
  ];
  return { rounds, medians: { ...m, cores, perPartition }, rows, targets: [], notes };
}
