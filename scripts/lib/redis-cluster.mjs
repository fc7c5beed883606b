// @ts-check
// A private Redis Cluster of Debian's redis-server (3 masters + 3 replicas, temp dirs, free ports whose bus port +10000
// is free too) that can move slots, kill masters and bring killed nodes back. Shared by the cluster test harness
// (test/support/redis-cluster.ts) and `npm run demo -- --cluster`, so it is plain JS. Never touches port 6379.
import { execFile, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';

const run = promisify(execFile);

/** Polls `check` until it returns true, or fails naming `what` after `timeoutMs`. */
async function waitFor(
  /** @type {() => boolean | Promise<boolean>} */ check,
  /** @type {string} */ what,
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for: ${what}`);
}

/** True when nothing listens on `port` of 127.0.0.1. */
function isFree(/** @type {number} */ port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `count` ports in 20000–54999 where both the port and its cluster bus port (port + 10000) are free. */
async function freeClusterPorts(/** @type {number} */ count) {
  /** @type {number[]} */
  const ports = [];
  while (ports.length < count) {
    const port = 20000 + Math.floor(Math.random() * 35000);
    if (ports.includes(port) || ports.includes(port + 10000) || ports.includes(port - 10000)) continue;
    if ((await isFree(port)) && (await isFree(port + 10000))) ports.push(port);
  }
  return ports;
}

/**
 * @typedef {object} ClusterStartOptions
 * @property {string} [logDir] Each node's output goes to `<logDir>/redis-<port>.log` (default: discarded).
 * @property {boolean} [detached] Nodes in process groups of their own, so a terminal's Ctrl-C reaches only the caller,
 *   which then stops them last (the demo). Default false: they share the caller's group.
 * @property {AbortSignal} [signal] Aborting it kills every node at once, while starting or after (for a caller that
 *   may exit before `start()` has returned).
 */

class ClusterNode {
  /** @type {import('node:child_process').ChildProcess | undefined} */
  process;
  /** @type {Error | undefined} */
  spawnError;
  /** Frozen with SIGSTOP: it would answer nothing. */
  paused = false;
  dir = mkdtempSync(join(tmpdir(), 'redis-streams-cluster-'));

  constructor(/** @type {number} */ port, /** @type {ClusterStartOptions} */ options) {
    this.port = port;
    this.options = options;
  }

  get alive() {
    return this.process !== undefined && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** A plain connection to this node alone; the caller disconnects it. */
  client() {
    const redis = new Redis(this.port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => null });
    redis.on('error', () => undefined);
    return redis;
  }

  /** Starts redis-server; with the same directory again after a kill, so it keeps its node id (nodes.conf). */
  spawn() {
    const bin = process.env.REDIS_SERVER_BIN ?? 'redis-server';
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--cluster-enabled', 'yes'];
    args.push('--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1000', '--save', '');
    args.push('--appendonly', 'no', '--daemonize', 'no', '--cluster-replica-validity-factor', '0');
    // A replica (a new one, or a killed master back as one) syncs at once; by default the master waits 5 s for more.
    args.push('--repl-diskless-sync-delay', '0');
    const { logDir, detached = false } = this.options;
    const log = logDir ? openSync(join(logDir, `redis-${this.port}.log`), 'a') : 'ignore';
    this.process = spawn(bin, args, { stdio: ['ignore', log, log], detached });
    if (typeof log === 'number') closeSync(log);
    this.process.once('error', (err) => {
      this.spawnError = new Error(
        `Could not start ${bin} (${err.message}). Install Debian's package: apt-get install -y redis-server ` +
          'redis-tools, or run `npm run setup`, or set REDIS_SERVER_BIN.',
      );
    });
  }

  async kill(/** @type {NodeJS.Signals} */ signal) {
    const child = this.process;
    if (!child || !this.alive) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }
}

export class RedisCluster {
  /** @private */
  constructor(/** @type {ClusterNode[]} */ nodes) {
    /** @private */
    this.nodes = nodes;
  }

  /**
   * Starts 3 masters and 3 replicas and waits until every node reports `cluster_state:ok` with all slots covered.
   * @param {ClusterStartOptions} [options]
   */
  static async start(options = {}) {
    const cluster = new RedisCluster((await freeClusterPorts(6)).map((port) => new ClusterNode(port, options)));
    options.signal?.addEventListener('abort', () => cluster.stopNow(), { once: true });
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
  get startupNodes() {
    return this.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
  }

  /** An ioredis Cluster for assertions; the caller quits it. */
  client() {
    return new Cluster(this.startupNodes, { redisOptions: { maxRetriesPerRequest: 3 } });
  }

  /** Stops every node (SIGKILL: nothing to persist) and removes their directories. Safe to call twice. */
  async stop() {
    await Promise.all(this.nodes.map((node) => node.kill('SIGKILL')));
    for (const node of this.nodes) rmSync(node.dir, { recursive: true, force: true });
  }

  /** Like `stop()` without waiting for the exits: for a process 'exit' handler, which can't wait. */
  stopNow() {
    for (const node of this.nodes) if (node.alive) node.process?.kill('SIGKILL');
    for (const node of this.nodes) rmSync(node.dir, { recursive: true, force: true });
  }

  /**
   * Waits until every live node says `cluster_state:ok` with all 16384 slots assigned, and sees exactly 3 masters that
   * are not failed (right after `--cluster create` a replica still shows as a master on some nodes for a moment).
   */
  async waitUntilHealthy(timeoutMs = 30_000) {
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

  /** The hash slot of `key`, as the cluster computes it (CLUSTER KEYSLOT). */
  async slotOf(/** @type {string} */ key) {
    return Number(await this.command(this.live()[0], ['CLUSTER', 'KEYSLOT', key]));
  }

  /** The port of the master that serves `slot`, as the first live node sees it. */
  async masterOf(/** @type {number} */ slot) {
    const slots = /** @type {[number, number, [string, number]][]} */ (
      await this.command(this.live()[0], ['CLUSTER', 'SLOTS'])
    );
    const range = slots.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`No node serves slot ${slot}`);
    return range[2][1];
  }

  /** Ports of the masters that are alive. */
  async masters() {
    return (await this.nodeInfos()).filter((n) => n.master && !n.failed).map((n) => n.port);
  }

  /**
   * Moves `slot` and its keys to the master at `toPort` the way `redis-cli --cluster reshard` does: IMPORTING on the
   * target, MIGRATING on the source, MIGRATE … KEYS in batches until the slot is empty, then SETSLOT NODE on every
   * master. Clients see ASK while it runs and MOVED afterwards. `between` runs after each batch (to interleave writes).
   * @param {number} slot
   * @param {number} toPort
   * @param {() => Promise<void>} [between]
   */
  async moveSlot(slot, toPort, between) {
    const fromPort = await this.masterOf(slot);
    if (fromPort === toPort) return;
    const from = this.node(fromPort);
    const to = this.node(toPort);
    const fromId = await this.idOf(fromPort);
    const toId = await this.idOf(toPort);
    await this.ask(to, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId]);
    await this.ask(from, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId]);
    for (;;) {
      const keys = /** @type {string[]} */ (await this.command(from, ['CLUSTER', 'GETKEYSINSLOT', String(slot), '10']));
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
   * Kills the master serving `slot` with SIGKILL (then runs `afterKill`) and waits until one of its replicas is
   * promoted and the cluster is healthy again. Returns the new master's port. With `replicaLagMs`, its replicas are cut
   * off that long before the kill: the writes the master acknowledged meanwhile are lost with it, as when asynchronous
   * replication lags under load. (Frozen with SIGSTOP so that they don't reconnect, and their links dropped, since
   * what the master had sent would wait in their sockets and still reach them after a thaw.)
   * @param {number} slot
   * @param {{ replicaLagMs?: number, afterKill?: () => void }} [options]
   */
  async killMasterOf(slot, { replicaLagMs = 0, afterKill } = {}) {
    const oldPort = await this.masterOf(slot);
    const replicas = replicaLagMs > 0 ? (await this.replicasOf(oldPort)).map((port) => this.node(port)) : [];
    for (const replica of replicas) replica.process?.kill('SIGSTOP');
    try {
      if (replicas.length > 0) await this.ask(this.node(oldPort), ['CLIENT', 'KILL', 'TYPE', 'replica']);
      await new Promise((resolve) => setTimeout(resolve, replicaLagMs));
      await this.node(oldPort).kill('SIGKILL');
    } finally {
      for (const replica of replicas) replica.process?.kill('SIGCONT');
    }
    afterKill?.();
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
   * Starts a killed node again with its directory: it keeps its node id, learns that its slots have a newer owner, and
   * rejoins as that master's replica. Resolves once its replication link is up (a full sync: it kept no data).
   */
  async restart(/** @type {number} */ port) {
    const node = this.node(port);
    if (node.alive) throw new Error(`The cluster node on port ${port} is running; kill it before restarting it.`);
    node.spawn();
    await this.waitForPing(node);
    await waitFor(
      async () => /master_link_status:up/.test(await this.ask(node, ['INFO', 'replication']).catch(() => '')),
      `the restarted node ${port} to sync as a replica`,
      30_000,
    );
    await this.waitUntilHealthy();
  }

  /** The port of the (first) replica of the master serving `slot`. */
  async replicaOf(/** @type {number} */ slot) {
    const [port] = await this.replicasOf(await this.masterOf(slot));
    return port;
  }

  /** Waits until the replicas of the master serving `slot` have all of its writes so far (a first sync takes ~5 s). */
  async waitForReplication(/** @type {number} */ slot) {
    const master = this.node(await this.masterOf(slot));
    await waitFor(async () => {
      const info = await this.ask(master, ['INFO', 'replication']);
      const offset = /master_repl_offset:(\d+)/.exec(info)?.[1];
      const replicas = [...info.matchAll(/^slave\d+:.*state=(\w+),offset=(\d+)/gm)];
      return replicas.length > 0 && replicas.every(([, state, at]) => state === 'online' && at === offset);
    }, `the replicas of ${master.port} to catch up`);
  }

  /**
   * Closes the replication links of the master serving `slot` (CLIENT KILL TYPE replica): a replica frozen meanwhile
   * (`signal`) can't reconnect, so it misses the master's writes from then on.
   */
  async cutReplicationOf(/** @type {number} */ slot) {
    await this.command(this.node(await this.masterOf(slot)), ['CLIENT', 'KILL', 'TYPE', 'replica']);
  }

  /** SIGSTOP freezes the node on `port` (`pause`), SIGCONT thaws it (`resume`). */
  signal(/** @type {number} */ port, /** @type {'SIGSTOP' | 'SIGCONT'} */ signal) {
    if (signal === 'SIGSTOP') this.pause(port);
    else this.resume(port);
  }

  /** Waits until every live replica's link to its master is up (a replica that has not synced confirms no WAIT). */
  async waitUntilReplicated(timeoutMs = 30_000) {
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
  livePorts() {
    return this.live().map((node) => node.port);
  }

  /** Sends one command to the node on `port` (CLIENT LIST, CLIENT KILL: what is per node, not per key). */
  call(/** @type {number} */ port, /** @type {string[]} */ ...args) {
    return this.command(this.node(port), args);
  }

  /** Ports of the replicas of the master at `port`. */
  async replicasOf(/** @type {number} */ port) {
    const lines = /** @type {string[]} */ (
      await this.command(this.node(port), ['CLUSTER', 'REPLICAS', await this.idOf(port)])
    );
    return lines.map((line) => Number(/:(\d+)@/.exec(line)?.[1]));
  }

  /** Kills the node at `port` with SIGKILL, without waiting for the cluster to notice (see `killMasterOf`). */
  async kill(/** @type {number} */ port) {
    await this.node(port).kill('SIGKILL');
  }

  /** Freezes the node at `port` (SIGSTOP): it answers nothing, nor takes part in failovers, until `resume(port)`. */
  pause(/** @type {number} */ port) {
    const node = this.node(port);
    node.process?.kill('SIGSTOP');
    node.paused = true;
  }

  resume(/** @type {number} */ port) {
    const node = this.node(port);
    node.process?.kill('SIGCONT');
    node.paused = false;
  }

  /** Waits until every live node that is not paused says `cluster_state:fail` (e.g. a master is down, not replaced). */
  async waitUntilDown(timeoutMs = 30_000) {
    await waitFor(
      async () => {
        for (const node of this.live()) {
          if (!/cluster_state:fail/.test(await this.ask(node, ['CLUSTER', 'INFO']))) return false;
        }
        return true;
      },
      'every cluster node to report cluster_state:fail',
      timeoutMs,
    );
  }

  /** Promotes a replica of the master serving `slot` with CLUSTER FAILOVER (no data lost). Returns its port. */
  async failoverMasterOf(/** @type {number} */ slot) {
    const oldPort = await this.masterOf(slot);
    const [replicaPort] = await this.replicasOf(oldPort);
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

  /** @private */
  node(/** @type {number} */ port) {
    const node = this.nodes.find((n) => n.port === port);
    if (!node) throw new Error(`No cluster node on port ${port}`);
    return node;
  }

  /** The nodes running and not paused. @private */
  live() {
    return this.nodes.filter((n) => n.alive && !n.paused);
  }

  /** @private */
  async idOf(/** @type {number} */ port) {
    const info = (await this.nodeInfos()).find((n) => n.port === port);
    if (!info) throw new Error(`No cluster node on port ${port} in CLUSTER NODES`);
    return info.id;
  }

  /** A node's view of itself and its peers from CLUSTER NODES. @private */
  async nodeInfos() {
    const text = await this.ask(this.live()[0], ['CLUSTER', 'NODES']);
    return text
      .trim()
      .split('\n')
      .map((line) => {
        const [id, address, flags] = line.split(' ');
        return {
          id,
          port: Number(/:(\d+)@/.exec(address)?.[1]),
          master: flags.includes('master'),
          failed: /fail/.test(flags),
        };
      });
  }

  /** @private */
  async ask(/** @type {ClusterNode} */ node, /** @type {string[]} */ args) {
    return String(await this.command(node, args));
  }

  /** @private */
  async command(/** @type {ClusterNode} */ node, /** @type {string[]} */ [name, ...args]) {
    const redis = node.client();
    try {
      return await redis.call(name, ...args);
    } finally {
      redis.disconnect();
    }
  }

  /** @private */
  async waitForPing(/** @type {ClusterNode} */ node) {
    await waitFor(async () => {
      if (node.spawnError) throw node.spawnError;
      try {
        return (await this.command(node, ['PING'])) === 'PONG';
      } catch {
        return false;
      }
    }, `redis-server --cluster-enabled on port ${node.port} to answer PING`);
  }
}
