import { readFileSync } from 'node:fs';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { CliError, UsageError } from './cli.error.js';

export interface ConnectOptions {
  url: string;
  /** `host:port,host:port` of a Redis Cluster's nodes; used instead of `url` when set. */
  cluster?: string;
  /** A PEM file with the CA that signed the server's certificate, for `rediss://` with a private CA. */
  tlsCa?: string;
}

/**
 * Connects once, without retries: an operator's command should fail fast with the reason, not hang. ioredis rejects
 * `connect()` with a bare "Connection is closed", so the cause is taken from the connection's last error event.
 */
export async function connectRedis({ url, cluster, tlsCa }: ConnectOptions): Promise<Redis> {
  if (cluster !== undefined) return connectCluster(cluster, tlsCa);
  if (!/^rediss?:\/\//.test(url)) {
    throw new UsageError(
      `The Redis URL must start with redis:// or rediss:// (got "${url}"). Pass --url or set REDIS_URL.`,
    );
  }
  const options: RedisOptions = {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 5000,
    connectionName: 'nestjs-redis-streams:cli',
  };
  if (tlsCa) {
    if (!url.startsWith('rediss://')) throw new UsageError('--tls-ca only applies to rediss:// URLs.');
    options.tls = { ca: readPem(tlsCa) };
  }
  const redis = new Redis(url, options);
  let cause: Error | undefined;
  redis.on('error', (err: Error) => (cause ??= err));
  try {
    await redis.connect();
  } catch (err) {
    // disconnect() on a connection that already ended keeps the process alive for its reconnect timer (~2 s).
    if (redis.status !== 'end') redis.disconnect();
    throw new CliError(describeConnectFailure(url, cause ?? (err as Error)));
  }
  return redis;
}

/**
 * A Redis Cluster from `host:port,…` (credentials, if any, from REDIS_USERNAME and REDIS_PASSWORD). Typed as `Redis`
 * like the library's own cluster connections: it answers the CLI's commands the same way, routed by key.
 */
async function connectCluster(list: string, tlsCa: string | undefined): Promise<Redis> {
  const nodes = list
    .split(',')
    .filter((node) => node.length > 0)
    .map((node) => {
      const match = /^(.+):(\d+)$/.exec(node);
      if (!match) throw new UsageError(`--cluster takes host:port,host:port (got "${node}").`);
      return { host: match[1], port: Number(match[2]) };
    });
  if (nodes.length === 0) throw new UsageError('--cluster takes at least one host:port.');
  const cluster = new Cluster(nodes, {
    lazyConnect: true,
    enableOfflineQueue: true,
    clusterRetryStrategy: () => null,
    redisOptions: {
      maxRetriesPerRequest: 0,
      connectTimeout: 5000,
      connectionName: 'nestjs-redis-streams:cli',
      username: process.env.REDIS_USERNAME,
      password: process.env.REDIS_PASSWORD,
      ...(tlsCa ? { tls: { ca: readPem(tlsCa) } } : {}),
    },
  });
  let cause: Error | undefined;
  cluster.on('error', (err: Error) => (cause ??= err));
  try {
    await cluster.connect();
  } catch (err) {
    cluster.disconnect();
    const where = `the Redis Cluster of ${list}`;
    throw new CliError(
      `Could not connect to ${where}: ${(cause ?? (err as Error)).message}. Check --cluster (host:port of its nodes).`,
    );
  }
  return cluster as unknown as Redis;
}

function describeConnectFailure(url: string, err: Error): string {
  const where = redactUrl(url);
  const message = err.message;
  if (/WRONGPASS|invalid username-password/i.test(message)) {
    return `Redis at ${where} refused the credentials (${message}). Check the user and password in --url or REDIS_URL (redis://user:password@host:port).`;
  }
  if (/NOAUTH/i.test(message)) {
    return `Redis at ${where} requires a password (${message}). Put it in the URL: redis://user:password@host:port.`;
  }
  if (/NOPERM/i.test(message)) {
    return `The Redis user has no permission for a command the CLI needs (${message}). See docs/security.md for the ACL.`;
  }
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH/i.test(message)) {
    return `Could not reach Redis at ${where} (${message}). Check the host and port in --url or REDIS_URL, and that Redis is running.`;
  }
  if (/certificate|self[- ]signed|SSL|TLS|EPROTO/i.test(message)) {
    return `TLS connection to ${where} failed (${message}). For a private CA pass --tls-ca <ca.pem>; check the host name matches the certificate.`;
  }
  return `Could not connect to Redis at ${where}: ${message}. Check --url or REDIS_URL.`;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

function readPem(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`Could not read the CA file given with --tls-ca (${(err as Error).message}).`);
  }
}
