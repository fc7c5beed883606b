// A private Redis Cluster for the benchmark: `masters` redis-servers with --cluster-enabled on free ports (each bus port,
// port + 10000, free too), joined by `redis-cli --cluster create` without replicas, as test/support/redis-cluster.ts
// does for the tests. Its servers are stopped by stop(), or killed when the benchmark exits.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { startRedis } from './redis-server.mjs';

const run = promisify(execFile);
const NODE_ARGS = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'];

function isFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `count` ports in 20000–54999 whose cluster bus port (port + 10000) is free too. */
async function freeClusterPorts(count) {
  const ports = [];
  while (ports.length < count) {
    const port = 20000 + Math.floor(Math.random() * 35000);
    if (ports.some((p) => Math.abs(p - port) === 10000 || p === port)) continue;
    if ((await isFree(port)) && (await isFree(port + 10000))) ports.push(port);
  }
  return ports;
}

/** Asks one node a command on a connection of its own. */
async function ask(port, ...command) {
  const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    return await redis.call(...command);
  } finally {
    redis.disconnect();
  }
}

export async function startCluster(masters = 3) {
  const servers = [];
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  try {
    for (const port of await freeClusterPorts(masters)) {
      servers.push(await startRedis({ port, args: NODE_ARGS }));
    }
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']).catch(
      (err) => {
        if (err.code !== 'ENOENT') throw err;
        throw new Error('redis-cli is needed to create the cluster: install Redis 7 (`npm run setup`).');
      },
    );
    const deadline = Date.now() + 30_000;
    for (const { port } of servers) {
      while (!/cluster_state:ok/.test(String(await ask(port, 'CLUSTER', 'INFO')))) {
        if (Date.now() > deadline) throw new Error(`cluster node ${port} did not report cluster_state:ok within 30 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const ports = servers.map((server) => server.port);
  return {
    ports,
    /** `host:port,…` of every node, for the workers' REDIS_CLUSTER. */
    nodes: ports.map((port) => `127.0.0.1:${port}`).join(','),
    client: () =>
      new Cluster(
        ports.map((port) => ({ host: '127.0.0.1', port })),
        { scaleReads: 'master' },
      ),
    /** The port of the master serving `key`. */
    async masterOf(key) {
      const slot = Number(await ask(ports[0], 'CLUSTER', 'KEYSLOT', key));
      const range = (await ask(ports[0], 'CLUSTER', 'SLOTS')).find(([from, to]) => slot >= from && slot <= to);
      return range[2][1];
    },
    stop,
  };
}
