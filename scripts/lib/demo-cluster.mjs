// What `npm run demo -- --cluster` adds to the demo: a private Redis Cluster (3 masters + 3 replicas, the test harness's
// own code), and two faults injected while the traffic flows: the Push stream's slot moved to another master
// (resharding), and the Email stream's master killed -9 so that its replica takes over (failover).
import { Cluster } from 'ioredis';
import { RedisCluster } from './redis-cluster.mjs';

/**
 * Starts the cluster; its nodes log to `logDir` and run in process groups of their own (Ctrl-C reaches the demo, which
 * stops them after the apps). Aborting `signal` kills them at once, even while they start.
 */
export async function startDemoCluster(logDir, signal) {
  const cluster = await RedisCluster.start({ logDir, detached: true, signal });
  const nodes = cluster.startupNodes.map(({ host, port }) => `${host}:${port}`);
  return {
    cluster,
    name: 'the Redis Cluster',
    label: `private Redis Cluster, 3 masters + 3 replicas: ${nodes.join(' ')}`,
    // The gateway answers 202 only once a replica has the entry: a kill -9 of its master then loses no accepted mail.
    env: { REDIS_CLUSTER: nodes.join(','), KEY_PREFIX: '', EMIT_REPLICAS: '1' },
    space: { prefix: '', cluster: true },
    client: () => new Cluster(cluster.startupNodes, { redisOptions: { maxRetriesPerRequest: 3 } }),
    stop: () => cluster.stop(),
  };
}

/**
 * The faults, as burst milestones (the demo kills an email replica at half way). At a quarter of the requests the
 * master of Email is killed -9, one of its replicas is promoted, and the killed node is started again: it rejoins as
 * a replica, which the gateway's EMIT_REPLICAS needs. At three quarters the slot of Push moves (with its keys: the
 * stream, its groups, the apps' `{Push}:…` counters) to a master that serves neither stream. The failover comes first
 * so that no app is starting during it (the restarted email replica): listen() fails on CLUSTERDOWN.
 * `note(line)` prints a line above the progress bar.
 */
export function clusterFaults(cluster, prefix, note) {
  const when = ({ done, total }) =>
    `at ${new Date().toISOString().slice(11, 19)}, after ${count(done)} of ${count(total)} requests`;
  return [
    {
      at: 0.25,
      run: async (progress) => {
        const started = { at: when(progress), ms: Date.now() };
        const emailSlot = await cluster.slotOf(`${prefix}Email`);
        const old = await cluster.masterOf(emailSlot);
        const promoted = await cluster.killMasterOf(emailSlot);
        note(
          `✗ failover ${started.at}: killed -9 :${old}, the master of Email (slot ${emailSlot}); ` +
            `its replica :${promoted} took over in ${seconds(started.ms)}`,
        );
        await cluster.restart(old);
        note(`↻ restarted :${old}: it rejoined as a replica of :${promoted}`);
      },
    },
    {
      at: 0.75,
      run: async (progress) => {
        const started = { at: when(progress), ms: Date.now() };
        const pushSlot = await cluster.slotOf(`${prefix}Push`);
        const from = await cluster.masterOf(pushSlot);
        const emailMaster = await cluster.masterOf(await cluster.slotOf(`${prefix}Email`));
        const masters = await cluster.masters();
        const to = masters.find((port) => port !== from && port !== emailMaster) ?? masters.find((p) => p !== from);
        await cluster.moveSlot(pushSlot, to);
        note(
          `⇄ resharded ${started.at}: slot ${pushSlot} of Push moved from :${from} to :${to} with its keys ` +
            `in ${seconds(started.ms)}`,
        );
      },
    },
  ];
}

/**
 * What the summary checks the groups against on a cluster: every entry the streams hold (`all`, and `sinceBackfill`
 * for BI), which must include every entry the gateway accepted (`accepted`). `unacknowledged`: entries stored by a
 * request that failed (WAIT timed out during the failover, the client sent it again).
 */
export async function storedEntries(redis, prefix, accepted, backfillFrom) {
  const all = {};
  const sinceBackfill = {};
  let missing = 0;
  let unacknowledged = 0;
  for (const stream of Object.keys(accepted)) {
    all[stream] = await storedIds(redis, prefix + stream);
    sinceBackfill[stream] = all[stream].filter((id) => Number(id.split('-')[0]) >= backfillFrom.getTime());
    const ids = new Set(all[stream]);
    const lost = accepted[stream].filter((id) => !ids.has(id)).length;
    missing += lost;
    unacknowledged += all[stream].length - (accepted[stream].length - lost);
  }
  const extraChecks = [['accepted entries missing from their stream', missing, 0]];
  return { all, sinceBackfill, what: 'stored', extraChecks, unacknowledged };
}

/** Every entry id of the stream at `key`, oldest first. */
async function storedIds(redis, key) {
  const ids = [];
  for (let after = '-'; ;) {
    const page = await redis.xrange(key, after, '+', 'COUNT', 1000);
    for (const [id] of page) ids.push(id);
    if (page.length < 1000) return ids;
    after = `(${page[page.length - 1][0]}`;
  }
}

function count(value) {
  return value.toLocaleString('en-US');
}

function seconds(since) {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}
