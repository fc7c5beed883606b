// Starts a private Redis Cluster (3 masters + 3 replicas of Debian's redis-server, temp dirs, free ports whose bus port
// +10000 is free too) for one test file, and moves slots or kills masters on demand. Never touches port 6379.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { waitFor } from './redis-server.js';

const run = promisify(execFile);

/** True when nothing listens on `port` of 127.0.0.1. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `count` ports in 20000–54999 where both the port and its cluster bus port (port + 10000) are free. */
async function freeClusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20000 + Math.floor(Math.random() * 35000);
    if (ports.includes(port) || ports.includes(port + 10000) || ports.includes(port - 10000)) continue;
    if ((await isFree(port)) && (await isFree(port + 10000))) ports.push(port);
  }
  return ports;
}

class ClusterNode {
  process?: ChildProcess;
  readonly dir = mkdtempSync(join(tmpdir(), 'redis-streams-cluster-'));
  constructor(readonly port: number) {}

  /** A plain connection to this node alone; the caller disconnects it. */
  client(): Redis {
    const redis = new Redis(this.port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => null });
    redis.on('error', () => undefined);
    return redis;
  }

  spawn(): void {
    const bin = process.env.REDIS_SERVER_BIN ?? 'redis-server';
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--cluster-enabled', 'yes'];
    args.push('--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1000', '--save', '');
    args.push('--appendonly', 'no', '--daemonize', 'no', '--cluster-replica-validity-factor', '0');
    // A replica (a new one, or a killed master back as one) syncs at once; by default the master waits 5 s for more.
    args.push('--repl-diskless-sync-delay', '0');
    this.process = spawn(bin, args, { stdio: 'ignore' });
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }
}

/** A node's view of itself from CLUSTER NODES. */
interface NodeInfo {
  id: string;
  port: number;
  master: boolean;
  failed: boolean;
  /** A replica's master (its id), `-` for a master. */
  masterId: string;
}

export class RedisCluster {
  private constructor(private readonly nodes: ClusterNode[]) {}

  /** Starts 3 masters and 3 replicas and waits until every node reports `cluster_state:ok` with all slots covered. */
  static async start(): Promise<RedisCluster> {
    const cluster = new RedisCluster((await freeClusterPorts(6)).map((port) => new ClusterNode(port)));
    try {
      for (const node of cluster.nodes) node.spawn();
      await Promise.all(cluster.nodes.map((node) => cluster.waitForPing(node)));
      const addresses = cluster.nodes.map((node) => `127.0.0.1:${node.port}`);
      await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes']);
      await cluster.waitUntilHealthy();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** `host:port` of every node started, for `connection: { cluster: … }`. */
  get startupNodes(): { host: string; port: number }[] {
    return this.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
  }

  /** An ioredis Cluster for assertions; the caller quits it. */
  client(): Cluster {
    return new Cluster(this.startupNodes, { redisOptions: { maxRetriesPerRequest: 3 } });
  }

  /** Stops every node (SIGKILL: nothing to persist) and removes their directories. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.kill('SIGKILL')));
    for (const node of this.nodes) rmSync(node.dir, { recursive: true, force: true });
  }

  /**
   * Waits until every live node says `cluster_state:ok` with all 16384 slots assigned, and sees exactly 3 masters that
   * are not failed (right after `--cluster create` a replica still shows as a master on some nodes for a moment).
   */
  async waitUntilHealthy(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        for (const node of this.live()) {
          const info = await this.ask(node, ['CLUSTER', 'INFO']);
          if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) return false;
          const nodes = (await this.ask(node, ['CLUSTER', 'NODES'])).trim().split('\n');
          const masters = nodes.filter((line) => ['master', 'myself,master'].includes(line.split(' ')[2]));
          if (masters.length !== 3) return false;
        }
        return true;
      },
      'every cluster node to report cluster_state:ok with all slots covered',
      timeoutMs,
    );
  }

  /** The port of the master that serves `slot`, as the first live node sees it. */
  async masterOf(slot: number): Promise<number> {
    const slots = (await this.command(this.live()[0], ['CLUSTER', 'SLOTS'])) as [number, number, [string, number]][];
    const range = slots.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`No node serves slot ${slot}`);
    return range[2][1];
  }

  /** Ports of the masters that are alive. */
  async masters(): Promise<number[]> {
    return (await this.nodeInfos()).filter((n) => n.master && !n.failed).map((n) => n.port);
  }

  /**
   * Moves `slot` and its keys to the master at `toPort` the way `redis-cli --cluster reshard` does: IMPORTING on the
   * target, MIGRATING on the source, MIGRATE … KEYS in batches until the slot is empty, then SETSLOT NODE on every
   * master. Clients see ASK while it runs and MOVED afterwards. `between` runs after each batch (to interleave writes).
   */
  async moveSlot(slot: number, toPort: number, between?: () => Promise<void>): Promise<void> {
    const fromPort = await this.masterOf(slot);
    if (fromPort === toPort) return;
    const infos = await this.nodeInfos();
    const from = this.node(fromPort);
    const to = this.node(toPort);
    const fromId = infos.find((n) => n.port === fromPort)!.id;
    const toId = infos.find((n) => n.port === toPort)!.id;
    await this.ask(to, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId]);
    await this.ask(from, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId]);
    for (;;) {
      const keys = (await this.command(from, ['CLUSTER', 'GETKEYSINSLOT', String(slot), '10'])) as string[];
      if (keys.length === 0) break;
      await this.ask(from, ['MIGRATE', '127.0.0.1', String(toPort), '', '0', '5000', 'KEYS', ...keys]);
      await between?.();
    }
    // The target first, so that it owns the slot before the source stops redirecting with ASK.
    await this.ask(to, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', toId]);
    await this.ask(from, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', toId]);
    for (const port of await this.masters()) {
      if (port !== fromPort && port !== toPort) {
        await this.ask(this.node(port), ['CLUSTER', 'SETSLOT', String(slot), 'NODE', toId]);
      }
    }
    await waitFor(async () => (await this.masterOf(slot)) === toPort, `slot ${slot} to be served by ${toPort}`);
  }

  /**
   * Kills the master serving `slot` with SIGKILL and waits until one of its replicas is promoted and the cluster is
   * healthy again. Returns the new master's port. With `replicaLagMs`, its replicas are cut off that long before the
   * kill: the writes the master acknowledged meanwhile are lost with it, as when asynchronous replication lags under
   * load. (Frozen with SIGSTOP so that they don't reconnect, and their links dropped, since what the master had sent
   * would wait in their sockets and still reach them after a thaw.)
   */
  async killMasterOf(slot: number, replicaLagMs = 0): Promise<number> {
    const oldPort = await this.masterOf(slot);
    const infos = await this.nodeInfos();
    const oldId = infos.find((n) => n.port === oldPort)!.id;
    const replicas = replicaLagMs > 0 ? infos.filter((n) => n.masterId === oldId).map((n) => this.node(n.port)) : [];
    for (const replica of replicas) replica.process?.kill('SIGSTOP');
    try {
      if (replicas.length > 0) await this.ask(this.node(oldPort), ['CLIENT', 'KILL', 'TYPE', 'replica']);
      await new Promise((resolve) => setTimeout(resolve, replicaLagMs));
      await this.node(oldPort).kill('SIGKILL');
    } finally {
      for (const replica of replicas) replica.process?.kill('SIGCONT');
    }
    let newPort = oldPort;
    await waitFor(
      async () => {
        try {
          newPort = await this.masterOf(slot);
          return newPort !== oldPort;
        } catch {
          return false;
        }
      },
      `a replica of ${oldPort} to be promoted`,
      30_000,
    );
    await this.waitUntilHealthy();
    return newPort;
  }

  /**
   * Starts a node that was killed (by `killMasterOf`) again, on its port and with its nodes.conf: it learns that its
   * replica took over and rejoins as that one's replica. Resolves once it has synced and the cluster is healthy.
   */
  async restartNode(port: number): Promise<void> {
    const node = this.node(port);
    node.spawn();
    await this.waitForPing(node);
    await this.waitUntilHealthy();
    await this.waitUntilReplicated();
  }

  /** Waits until every live replica's link to its master is up (a replica that has not synced confirms no WAIT). */
  async waitUntilReplicated(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        for (const node of this.live()) {
          const info = await this.ask(node, ['INFO', 'replication']).catch(() => '');
          if (!/role:master/.test(info) && !/master_link_status:up/.test(info)) return false;
        }
        return true;
      },
      'every replica to be in sync with its master',
      timeoutMs,
    );
  }

  /** Ports of the nodes that are running. */
  livePorts(): number[] {
    return this.live().map((node) => node.port);
  }

  /** Sends one command to the node on `port` (CLIENT LIST, CLIENT KILL: what is per node, not per key). */
  call(port: number, ...args: string[]): Promise<unknown> {
    return this.command(this.node(port), args);
  }

  /** Promotes a replica of the master serving `slot` with CLUSTER FAILOVER (no data lost). Returns its port. */
  async failoverMasterOf(slot: number): Promise<number> {
    const oldPort = await this.masterOf(slot);
    const oldId = (await this.nodeInfos()).find((n) => n.port === oldPort)!.id;
    const lines = (await this.command(this.node(oldPort), ['CLUSTER', 'REPLICAS', oldId])) as string[];
    const replicaPort = Number(/:(\d+)@/.exec(String(lines[0]))?.[1]);
    // A manual failover gives up after a few seconds when the replica can't catch up in time (a loaded machine); ask
    // again until it has taken over.
    for (let attempt = 1; ; attempt++) {
      await this.ask(this.node(replicaPort), ['CLUSTER', 'FAILOVER']);
      try {
        await waitFor(async () => (await this.masterOf(slot)) === replicaPort, `${replicaPort} to take over`, 8000);
        break;
      } catch (err) {
        if (attempt === 4) throw err;
      }
    }
    await this.waitUntilHealthy();
    return replicaPort;
  }

  private node(port: number): ClusterNode {
    const node = this.nodes.find((n) => n.port === port);
    if (!node) throw new Error(`No cluster node on port ${port}`);
    return node;
  }

  private live(): ClusterNode[] {
    return this.nodes.filter((n) => n.process && n.process.exitCode === null && n.process.signalCode === null);
  }

  private async nodeInfos(): Promise<NodeInfo[]> {
    const text = await this.ask(this.live()[0], ['CLUSTER', 'NODES']);
    return text
      .trim()
      .split('\n')
      .map((line) => {
        const [id, address, flags, masterId] = line.split(' ');
        return {
          id,
          port: Number(/:(\d+)@/.exec(address)?.[1]),
          master: flags.includes('master'),
          failed: /fail/.test(flags),
          masterId,
        };
      });
  }

  private async ask(node: ClusterNode, args: string[]): Promise<string> {
    return String(await this.command(node, args));
  }

  private async command(node: ClusterNode, [name, ...args]: string[]): Promise<unknown> {
    const redis = node.client();
    try {
      return await redis.call(name, ...args);
    } finally {
      redis.disconnect();
    }
  }

  private async waitForPing(node: ClusterNode): Promise<void> {
    await waitFor(async () => {
      try {
        return (await this.command(node, ['PING'])) === 'PONG';
      } catch {
        return false;
      }
    }, `redis-server --cluster-enabled on port ${node.port} to answer PING`);
  }
}
