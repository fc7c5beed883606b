import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { ClusterNotSettledError } from '../errors/cluster-not-settled.error.js';
import type { RedisClusterConnection, RedisConnection } from '../interfaces/redis-streams-options.interface.js';
import { settleTimeoutOf } from './cluster-settling.js';

/** What a connection is used for; each role gets the ioredis settings it needs. */
export type ConnectionRole =
  /** Non-blocking commands (acks, claims, XADD); many callers share it, so round trips are pipelined. */
  | 'commands'
  /** One blocking read loop. A read lost to a dropped connection fails instead of being resent, so the loop notices. */
  | 'blocking';

/**
 * ioredis 6 speaks RESP3 by default, where XREAD/XREADGROUP answer with a map that ioredis flattens to
 * `[key, entries, key, entries]` instead of RESP2's `[[key, entries]]`. Every reply parser here expects RESP2, so the
 * transport's own connections ask for it (ioredis 5 has no such option and ignores it).
 */
const RESP2 = { protocol: 2 } as RedisOptions;

/** True when `connection` names a Redis Cluster (`{ cluster: [...] }`). */
export function isClusterConnection(connection: RedisConnection): connection is RedisClusterConnection {
  return typeof connection === 'object' && 'cluster' in connection;
}

/** True when `redis` is an ioredis `Cluster` (whatever its static type). */
export function isCluster(redis: Redis | Cluster): redis is Cluster {
  return (redis as Partial<Cluster>).isCluster === true;
}

/**
 * A connection for `role`. On a Redis Cluster this is an ioredis `Cluster` (one per call, so each blocking reader
 * has connections of its own to the nodes its keys live on). It is typed as `Redis` because it answers every command
 * the transport sends the same way, routed to the node owning each command's keys (following MOVED and ASK); the
 * differences that matter (no socket to cork, WAIT per node) are handled where `isCluster` is checked.
 */
export function createRedis(connection: RedisConnection, role: ConnectionRole, name?: string): Redis {
  const roleOptions: RedisOptions =
    role === 'blocking'
      ? { enableAutoPipelining: false, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: null }
      : { enableAutoPipelining: true, maxRetriesPerRequest: null };
  const options: RedisOptions = { lazyConnect: true, connectionName: name, ...RESP2, ...roleOptions };
  if (isClusterConnection(connection)) return createCluster(connection, options) as unknown as Redis;
  return typeof connection === 'string'
    ? new Redis(connection, options)
    : new Redis({ ...connection, ...options, connectionName: connection.connectionName ?? name });
}

function createCluster(connection: RedisClusterConnection, options: RedisOptions): Cluster {
  const { cluster, clusterOptions = {} } = connection;
  if (!Array.isArray(cluster) || cluster.length === 0) {
    throw new TypeError("`connection.cluster` must list at least one node: ['host:port'] or [{ host, port }].");
  }
  const nodes: { host: string; port: number }[] = cluster.map((node) => {
    if (typeof node !== 'string') return node;
    const match = /^(.*):(\d+)$/.exec(node);
    if (!match) throw new TypeError(`\`connection.cluster\` node "${node}" must be "host:port".`);
    return { host: match[1], port: Number(match[2]) };
  });
  // No auto-pipelining: ioredis groups a Cluster's auto-pipeline by the first key it can find, which for XGROUP and
  // XINFO is the subcommand, so a batch of them went to one node and failed with MOVED.
  const { lazyConnect, ...nodeOptions } = options;
  delete nodeOptions.enableAutoPipelining;
  const created = new Cluster(nodes, {
    ...clusterOptions,
    enableAutoPipelining: false,
    lazyConnect,
    redisOptions: {
      ...clusterOptions.redisOptions,
      ...nodeOptions,
      connectionName: clusterOptions.redisOptions?.connectionName ?? options.connectionName,
    },
  });
  clusterNodes.set(created, nodes.map(({ host, port }) => `${host}:${port}`).join(', '));
  settleTimeouts.set(created, settleTimeoutOf(connection));
  return created;
}

/** The startup nodes of each cluster created here, for messages. */
const clusterNodes = new WeakMap<Cluster, string>();
/** How long each cluster created here may take to get ready (`settleTimeout`; 0: as long as ioredis tries). */
const settleTimeouts = new WeakMap<Cluster, number>();

/**
 * Connects `redis`. ioredis rejects a failed first connection with a bare "Connection is closed."; this throws the
 * connection's real error instead (WRONGPASS, ECONNREFUSED, a TLS failure), with what to change, as `cause` kept.
 */
export async function connectOrExplain(redis: Redis | Cluster): Promise<void> {
  let cause: Error | undefined;
  const onError = (err: Error): void => {
    cause ??= err;
  };
  // An ioredis Cluster whose first ready check fails (CLUSTERDOWN while a master is being failed over, or the dead
  // master asked) reconnects by itself and becomes ready, but the promise of its first connect() never settles.
  let onReady = (): void => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  // Bounded by `settleTimeout` on a cluster: one whose slots are never all served again would be waited for forever.
  const bound = isCluster(redis) ? (settleTimeouts.get(redis) ?? 0) : 0;
  let timer: NodeJS.Timeout | undefined;
  const unsettled = new Promise<never>((_, reject) => {
    if (bound <= 0) return;
    timer = setTimeout(() => {
      reject(new ClusterNotSettledError('connecting', bound, cause ?? new Error('no node reported the cluster ready')));
    }, bound);
  });
  redis.on('error', onError);
  redis.once('ready', onReady);
  try {
    await Promise.race([redis.connect(), ready, unsettled]);
  } catch (err) {
    if (err instanceof ClusterNotSettledError) throw err;
    const reason = cause ?? (err instanceof Error ? err : new Error(String(err)));
    const message = `Could not connect to Redis at ${describeTarget(redis)}: ${reason.message}. ${connectHint(reason.message)}`;
    // The cause is the connection's own error (WRONGPASS, ECONNREFUSED…), not ioredis's generic "Connection is closed".
    // eslint-disable-next-line preserve-caught-error
    throw new Error(message, { cause: reason });
  } finally {
    clearTimeout(timer);
    redis.off('error', onError);
    redis.off('ready', onReady);
  }
}

function describeTarget(redis: Redis | Cluster): string {
  if (isCluster(redis)) return `the Redis Cluster of ${clusterNodes.get(redis) ?? 'its startup nodes'}`;
  const { host, port, username, tls } = redis.options;
  return `${tls ? 'rediss' : 'redis'}://${username ? `${username}@` : ''}${host ?? '127.0.0.1'}:${port ?? 6379}`;
}

function connectHint(message: string): string {
  if (/WRONGPASS|NOAUTH|invalid username-password/i.test(message)) {
    return 'Check the user and password in `connection` (redis://user:password@host:port, or `username`/`password`).';
  }
  if (/NOPERM/i.test(message)) return "The Redis user's ACL lacks a command the transport needs; see docs/security.md.";
  if (/certificate|self[- ]signed|SSL|TLS|EPROTO/i.test(message)) {
    return 'For rediss:// with a private CA, pass `connection: { host, port, tls: { ca } }`; the host must match the certificate.';
  }
  return 'Check the host and port in `connection`, and that Redis is running and reachable.';
}

/** A consumer name unique per running instance: every container may have pid 1, so the pid alone is not enough. */
export function defaultConsumerName(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Connection names may not contain spaces. */
export function connectionName(...parts: string[]): string {
  return parts.join(':').replace(/\s+/g, '_');
}
