import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisConnection } from '../interfaces/redis-streams-options.interface.js';

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

export function createRedis(connection: RedisConnection, role: ConnectionRole, name?: string): Redis {
  const roleOptions: RedisOptions =
    role === 'blocking'
      ? { enableAutoPipelining: false, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: null }
      : { enableAutoPipelining: true, maxRetriesPerRequest: null };
  const options: RedisOptions = { lazyConnect: true, connectionName: name, ...RESP2, ...roleOptions };
  return typeof connection === 'string'
    ? new Redis(connection, options)
    : new Redis({ ...connection, ...options, connectionName: connection.connectionName ?? name });
}

/**
 * Connects `redis`. ioredis rejects a failed first connection with a bare "Connection is closed."; this throws the
 * connection's real error instead (WRONGPASS, ECONNREFUSED, a TLS failure), with what to change, as `cause` kept.
 */
export async function connectOrExplain(redis: Redis): Promise<void> {
  let cause: Error | undefined;
  const onError = (err: Error): void => {
    cause ??= err;
  };
  redis.on('error', onError);
  try {
    await redis.connect();
  } catch (err) {
    const reason = cause ?? (err instanceof Error ? err : new Error(String(err)));
    const message = `Could not connect to Redis at ${describeTarget(redis)}: ${reason.message}. ${connectHint(reason.message)}`;
    // The cause is the connection's own error (WRONGPASS, ECONNREFUSED…), not ioredis's generic "Connection is closed".
    // eslint-disable-next-line preserve-caught-error
    throw new Error(message, { cause: reason });
  } finally {
    redis.off('error', onError);
  }
}

function describeTarget(redis: Redis): string {
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
