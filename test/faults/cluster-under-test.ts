// A 3-master + 3-replica Redis Cluster (test/support/redis-cluster.ts) for the cluster variant of the suite, with a
// latency proxy in front of every node when the seed draws one, and the two cluster faults: a reshard of a key's slot
// and the failover of its master. The suite's keys share the hash tag `{faults-<seed>}`, so they live in one slot.
import type { Cluster } from 'ioredis';
import type { RedisClusterConnection } from 'nestjs-redis-streams';
import { RedisCluster } from '../support/redis-cluster.js';
import { LatencyProxy } from './latency-proxy.js';
import { type ClientConnection, namedConnections, type RedisUnderTest } from './redis-under-test.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class ClusterUnderTest implements RedisUnderTest {
  readonly admin: Cluster;

  private constructor(
    readonly cluster: RedisCluster,
    readonly proxies: LatencyProxy[],
  ) {
    this.admin = cluster.client();
    this.admin.on('error', () => undefined);
  }

  static async start(proxyDelayMs: number | undefined): Promise<ClusterUnderTest> {
    const cluster = await RedisCluster.start();
    const nodes = cluster.startupNodes;
    const proxies = proxyDelayMs === undefined ? [] : nodes.map((n) => new LatencyProxy(n.port, proxyDelayMs));
    try {
      for (const proxy of proxies) await proxy.start();
      // The producer's first emits wait for a replica (`durability`): a replica still syncing confirms nothing.
      await cluster.waitUntilReplicated();
    } catch (err) {
      for (const proxy of proxies) await proxy.stop();
      await cluster.stop();
      throw err;
    }
    return new ClusterUnderTest(cluster, proxies);
  }

  get connection(): RedisClusterConnection {
    return { cluster: this.cluster.startupNodes };
  }

  get workerEnv(): { CHAOS_REDIS_URL: string; FAULTS_CLUSTER: string } {
    const nodes = this.cluster.startupNodes;
    const first = `redis://127.0.0.1:${nodes[0].port}`;
    if (this.proxies.length === 0) return { CHAOS_REDIS_URL: first, FAULTS_CLUSTER: JSON.stringify(this.connection) };
    // Nodes give out their own address (CLUSTER SLOTS, MOVED, ASK): natMap sends the workers to its proxy instead.
    const natMap = Object.fromEntries(
      nodes.map((n, i) => [`127.0.0.1:${n.port}`, { host: '127.0.0.1', port: this.proxies[i].port }]),
    );
    const cluster = this.proxies.map((p) => ({ host: '127.0.0.1', port: p.port }));
    return {
      CHAOS_REDIS_URL: this.proxies[0].url,
      FAULTS_CLUSTER: JSON.stringify({ cluster, clusterOptions: { natMap } }),
    };
  }

  async connections(prefix: string): Promise<ClientConnection[]> {
    const all: ClientConnection[] = [];
    for (const port of this.cluster.livePorts()) {
      const list = String(await this.cluster.call(port, 'CLIENT', 'LIST', 'TYPE', 'normal'));
      all.push(...namedConnections(list, port, prefix));
    }
    return all.sort((a, b) => a.name.localeCompare(b.name) || a.port - b.port);
  }

  async killConnection({ port, id }: ClientConnection): Promise<void> {
    await this.cluster.call(port, 'CLIENT', 'KILL', 'ID', id);
  }

  private async slotOf(key: string): Promise<number> {
    return Number(await this.admin.cluster('KEYSLOT', key));
  }

  /** Moves `key`'s slot (and so every key of the suite) to another master, drawn by `pick`, while entries flow. */
  async reshard(key: string, pick: number): Promise<string> {
    const slot = await this.slotOf(key);
    const from = await this.cluster.masterOf(slot);
    const others = (await this.cluster.masters()).filter((port) => port !== from).sort((a, b) => a - b);
    const to = others[Math.floor(pick * others.length)];
    // A pause after each MIGRATE batch, so commands meet the slot half moved (ASK, TRYAGAIN).
    await this.cluster.moveSlot(slot, to, () => sleep(50));
    // As a careful operator does before anything else: MIGRATE's writes reach the target's replica like any write, so a
    // target that fails over before its replica caught up loses the slot's keys, durable emits included (README, "Redis
    // Cluster"). Found by soak seed 33: a partition's reshard and then its new master's failover 0.1 s later.
    const replicated = await this.cluster.waitForReplication(slot).then(
      () => '',
      () => ' (its replica did not catch up)',
    );
    return `slot ${slot} moved from ${from} to ${to}${replicated}`;
  }

  /**
   * kill -9 of the master holding `key`, its replica `replicaLagMs` behind (frozen that long before the kill, so the
   * writes the master acknowledged meanwhile die with it); resolves once the replica is promoted. The killed node
   * stays down.
   */
  async killMasterOf(key: string, replicaLagMs: number): Promise<{ killed: number; promoted: number }> {
    const slot = await this.slotOf(key);
    const killed = await this.cluster.masterOf(slot);
    return { killed, promoted: await this.cluster.killMasterOf(slot, { replicaLagMs }) };
  }

  /** The port of the master serving `key`'s slot now. */
  async masterOfKey(key: string): Promise<number> {
    return this.cluster.masterOf(await this.slotOf(key));
  }

  /**
   * SIGSTOP of the master serving `key` for `ms`, then SIGCONT; with the cluster's node timeout of 1 s its replica is
   * promoted meanwhile, and the thawed node learns it is a replica now. Resolves once the cluster is healthy again.
   */
  async freezeMasterOf(key: string, ms: number): Promise<{ port: number; failedOver: boolean }> {
    const port = await this.masterOfKey(key);
    this.cluster.pause(port);
    try {
      await sleep(ms);
    } finally {
      this.cluster.resume(port);
    }
    await this.cluster.waitUntilHealthy();
    return { port, failedOver: (await this.masterOfKey(key)) !== port };
  }

  /**
   * Watches `cluster_state` on a live node other than `except` every 100 ms until stopped, and returns how long the
   * longest stretch lasted in which it said `fail` (CLUSTERDOWN: with full coverage required, every node refuses
   * commands then, not only the one that failed).
   */
  watchClusterDown(except: number): () => Promise<number> {
    let stopped = false;
    let longest = 0;
    const loop = (async () => {
      let since: number | undefined;
      while (!stopped) {
        const port = this.cluster.livePorts().find((p) => p !== except);
        const info = port === undefined ? '' : await this.cluster.call(port, 'CLUSTER', 'INFO').catch(() => '');
        const down = /cluster_state:fail/.test(String(info));
        const now = Date.now();
        if (down) since ??= now;
        else if (since !== undefined) {
          longest = Math.max(longest, now - since);
          since = undefined;
        }
        if (since !== undefined) longest = Math.max(longest, now - since);
        await sleep(100);
      }
    })();
    return async () => {
      stopped = true;
      await loop;
      return longest;
    };
  }

  /** Starts a killed master again: it rejoins as a replica of the one promoted in its place, and syncs. */
  rejoin(port: number): Promise<void> {
    return this.cluster.restart(port);
  }

  async stop(): Promise<void> {
    this.admin.disconnect();
    for (const proxy of this.proxies) await proxy.stop();
    await this.cluster.stop();
  }

  killNow(): void {
    void this.cluster.stop();
  }
}
