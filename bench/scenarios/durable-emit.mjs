// Scenario `durability`: client.emit with `durability: { replicas: 1, timeout: 1000 }` against the same emits without
// it, 1,000 in flight, on a private standalone master with one replica (both started for the scenario). The replica is
// attached in both runs, so the ratio is what waiting for it costs, not what replicating costs.
import { redisCpu } from '../lib/redis-info.mjs';
import { startRedis } from '../lib/redis-server.mjs';
import { interleave, medianOf } from '../lib/rounds.mjs';
import { fmtRate, fmtRatio } from '../lib/stats.mjs';

const DURABILITY = '1:1000'; // replicas:timeout, as the nest worker reads it

async function waitReplicaOnline(master, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!/slave0:.*state=online/.test(await master.info('replication'))) {
    if (Date.now() > deadline) throw new Error('the replica did not come online within 30 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function durableEmit({ config, freshKey, nestWorker }) {
  // No delay before the full sync (the default waits 5 s for more replicas to join).
  const master = await startRedis({ args: ['--repl-diskless-sync-delay', '0'] });
  const servers = [master];
  const clients = [];
  try {
    const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    servers.unshift(replica); // stopped first, so it doesn't log the master going away
    const redis = master.client();
    const replicaRedis = replica.client();
    clients.push(redis, replicaRedis);
    await waitReplicaOnline(redis);

    /** One producer emits `total` entries, WINDOW in flight; with `durability`, each waits for the replica. */
    async function emit(durability) {
      const total = config.emitTotal;
      const key = freshKey(durability ? 'durable' : 'plain');
      const env = { BENCH_MODE: 'emit', REDIS_URL: master.url, STREAM: key, TOTAL: String(total), WINDOW: '1000' };
      const w = await nestWorker(durability ? { ...env, DURABILITY } : env);
      const cpuBefore = w.cpuMs();
      const redisCpuBefore = await redisCpu(redis);
      w.send({ type: 'go' });
      const done = await w.next('done', 300_000);
      const cpuUs = (1000 * (w.cpuMs() - cpuBefore)) / total;
      const redisCpuUs = (1000 * ((await redisCpu(redis)) - redisCpuBefore)) / total;
      // Every emit that completed with durability was confirmed by the replica: it must have them all already.
      const onReplica = durability ? await replicaRedis.xlen(key) : undefined;
      await w.stop();
      const length = await redis.xlen(key);
      if (length !== total) throw new Error(`emit: the master has ${length} entries, expected ${total}`);
      if (durability && onReplica !== total) throw new Error(`durable emit: the replica had ${onReplica} of ${total}`);
      await redis.unlink(key, `${key}:warm`);
      return { rate: total / (done.ms / 1000), seconds: done.ms / 1000, cpuUs, redisCpuUs };
    }

    const rounds = await interleave('emit, master with one replica', config.rounds, {
      plain: () => emit(false),
      durable: () => emit(true),
    });
    const m = {
      plain: medianOf(rounds, (r) => r.plain.rate),
      durable: medianOf(rounds, (r) => r.durable.rate),
      ratio: medianOf(rounds, (r) => r.durable.rate / r.plain.rate),
      plainCpuUs: medianOf(rounds, (r) => r.plain.cpuUs),
      durableCpuUs: medianOf(rounds, (r) => r.durable.cpuUs),
    };
    return {
      rounds,
      medians: m,
      rows: [
        [
          '10. emit, durability { replicas: 1 }, 1,000 in flight',
          fmtRate(m.durable),
          `${fmtRate(m.plain)} (ours, no durability)`,
          fmtRatio(m.ratio),
        ],
        ['   CPU µs/entry of the producer', m.durableCpuUs.toFixed(1), m.plainCpuUs.toFixed(1), ''],
      ],
      targets: [],
    };
  } finally {
    for (const client of clients) client.disconnect();
    for (const server of servers) await server.stop();
  }
}
