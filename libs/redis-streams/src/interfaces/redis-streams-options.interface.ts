import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { RedisStreamsClientObserver } from '../client/redis-streams-client.observer.js';
import type { StreamDeserializer, StreamSerializer } from './serialization.interface.js';

/** A Redis Cluster: some of its nodes (the others are discovered), and ioredis `Cluster` options. */
export interface RedisClusterConnection {
  /** Startup nodes: `'host:port'` or `{ host, port }`; one reachable node is enough. */
  cluster: Array<string | { host: string; port: number }>;
  /** ioredis `ClusterOptions` (`redisOptions` for every node connection: password, TLS…). */
  clusterOptions?: ClusterOptions;
  /**
   * ms that `listen()` and the client's `connect()` wait for a cluster whose topology is changing (just created, a
   * failover, a reshard: CLUSTERDOWN, TRYAGAIN, MOVED loops, a dead master's closed connection), retrying each start-up
   * step and logging what it waits for, before failing with `ClusterNotSettledError`. 0: no retries, and connecting
   * waits as long as ioredis keeps trying.
   * @defaultValue `30000`
   */
  settleTimeout?: number;
}

/** A Redis URL (`redis://user:pass@host:6379/0`, `rediss://` for TLS), ioredis options, or a Redis Cluster. */
export type RedisConnection = string | RedisOptions | RedisClusterConnection;

/**
 * When an entry handled through a consumer group is acknowledged (XACK).
 * - `after-success`: once the handler's promise resolves or its observable completes; a failure leaves it pending.
 * - `manual`: only when the handler calls `ctx.ack()`; an entry never acked is redelivered after `minIdleTime`.
 * - `on-receipt`: before the handler runs (at-most-once: a crash or a failure loses the entry).
 */
export type AckMode = 'after-success' | 'manual' | 'on-receipt';

/** Delay before a failed entry is tried again, from the number of deliveries it has had (1 after the first failure). */
export type RetryBackoff = (deliveries: number) => number;

/** Options shared by the server and the client. */
export interface RedisStreamsCommonOptions {
  /** Where Redis is. @defaultValue `'redis://127.0.0.1:6379'` */
  connection?: RedisConnection;
  /** Prepended to every stream key this transport reads or writes (`'app1:'` + `Email`). @defaultValue `''` */
  keyPrefix?: string;
  /**
   * The largest serialized payload in bytes. The client refuses larger emits; the server dead-letters larger entries.
   * @defaultValue 16 MiB
   */
  maxPayloadBytes?: number;
}

/** Options of `RedisStreamsServer`. Per-handler overrides ride in the pattern decorator's extras. */
export interface RedisStreamsServerOptions extends RedisStreamsCommonOptions {
  /** The consumer group of `@EventPattern` handlers that name none. Required if any handler relies on it. */
  group?: string;
  /**
   * This instance's consumer name within its groups. Keep it stable across restarts (e.g. a StatefulSet pod name) so a
   * restarted instance reads its own pending entries first. @defaultValue host name, pid and a random part
   */
  consumer?: string;
  /** How long one blocking read waits for new entries, in ms. Bounded so that a lost read is noticed. @defaultValue 2000 */
  block?: number;
  /** The most entries one read returns. @defaultValue 100 */
  count?: number;
  /** The most entries a reader has in its handlers at once. `1` keeps stream order. @defaultValue 50 */
  concurrency?: number;
  /**
   * Where a new consumer group starts: `'$'` (only entries added from now on) or `'0'` (the stream's whole history),
   * an entry id (the entries after it), or a time as a `Date` or ISO string (the first entry at or after it; a time
   * still in the future counts as `'$'`). Only used when the group is created; an existing group keeps its
   * position (move it with `StreamHistory.resetGroup`). @defaultValue `'$'`
   */
  startId?: string | Date;
  /**
   * Where `@Broadcast` readers start: `'$'` (entries added after the server started) or `'0'`, an entry id (the
   * entries after it), or a time as a `Date` or ISO string (the first entry at or after it). @defaultValue `'$'`
   */
  broadcastStartId?: string | Date;
  /** When entries are acknowledged; see {@link AckMode}. @defaultValue `'after-success'` */
  ack?: AckMode;
  /** How long `close()` waits for running handlers before leaving their entries pending, in ms. @defaultValue 10000 */
  shutdownTimeout?: number;
  /**
   * An entry pending this long (ms) with another consumer is considered abandoned and claimed (XAUTOCLAIM).
   * Running handlers keep their own entries fresh, so a slow handler is never claimed. @defaultValue 30000
   */
  minIdleTime?: number;
  /** How often abandoned entries are looked for, in ms. `0` turns claiming off. @defaultValue 5000 */
  claimInterval?: number;
  /**
   * After this many deliveries without success, an entry goes to the dead-letter stream. @defaultValue 5
   */
  maxDeliveries?: number;
  /** Delay before a failed entry is retried. @defaultValue 1 s doubling per delivery, at most 60 s */
  retryBackoff?: RetryBackoff;
  /**
   * The dead-letter stream of a stream (`stream` is the key with its prefix), or `false` to keep failing entries
   * pending forever. @defaultValue `` `${stream}:dead` ``
   */
  deadLetterStream?: ((stream: string) => string) | false;
  /**
   * Consumers of this server's groups that have nothing pending and were idle this long (ms) are removed from the
   * group. `0` turns the clean-up off. @defaultValue 3600000 (1 hour)
   */
  consumerIdleTimeout?: number;
  /**
   * How often the shared connection is checked with PING, in ms; one that doesn't answer within this time is replaced
   * (a connection can die without being closed, and acks would wait on it forever). `0` turns it off.
   * @defaultValue 5000
   */
  heartbeatInterval?: number;
  /**
   * Partitioned streams, as on the client: `{ Orders: 4 }` makes `@EventPattern('Orders')` read the streams
   * `Orders:p0` … `Orders:p3` (`ctx.getPartition()` tells which). The count must match the one recorded in Redis, or
   * `listen()` fails with `PartitionCountMismatchError`. In a consumer group each partition is owned by one live
   * instance at a time (an even share each, the same assignment computed by every instance, under a lease: `partitionLeaseTime`) and its entries are handled one at a
   * time in stream order. `@Broadcast` handlers read every partition. @defaultValue none
   */
  partitions?: Record<string, number>;
  /**
   * ms a consumer's lease on a partition lasts unless renewed (every third of it). A crashed owner's partitions are
   * taken over after at most this long. @defaultValue 10000
   */
  partitionLeaseTime?: number;
  /** Turns the entry fields into a payload. @defaultValue JSON `data` field, or plain field/value pairs */
  deserializer?: StreamDeserializer;
  /** Turns replies to requests into entry fields. @defaultValue JSON `data` field */
  serializer?: StreamSerializer;
}

/** Options of `RedisStreamsClient`. */
export interface RedisStreamsClientOptions extends RedisStreamsCommonOptions {
  /**
   * Replica-acknowledged emits: an emit completes only once `replicas` replicas of its master have the entry (one
   * `WAIT` per master per tick of emits), and fails with `ReplicasNotConfirmedError` when fewer confirm within
   * `timeout` ms. Without it an emit completes when the master has the entry, and a failover before the master
   * replicated it loses it (Redis replication is asynchronous). On a cluster each XADD and its WAIT go to the
   * connection of the master that stores the entry; an emit no master would take within 10 s of re-routing fails with
   * `EmitNotRoutedError`. Applies to `emit` and `dispatch`. @defaultValue off
   */
  durability?: { replicas: number; timeout: number };
  /**
   * Partitioned streams: `{ Orders: 4 }` stores `Orders` as the streams `Orders:p0` … `Orders:p3` (spread over the
   * slots of a cluster). An entry with a key (`new RedisStreamsRecord(data, headers, { key })`) always goes to the
   * same partition; entries without one are spread evenly. The count is recorded in Redis (`Orders:partitions`) by
   * the first producer or consumer, and one configured with another count refuses to emit
   * (`PartitionCountMismatchError`). @defaultValue none
   */
  partitions?: Record<string, number>;
  /** Approximate cap (`MAXLEN ~`) on stream length at each emit; trimming drops unread entries. Off by default. */
  maxLen?: number;
  /**
   * Retention by age, in ms: each emit trims entries older than this (`MINID ~`, by this process's clock; whole
   * radix-tree nodes at a time, so a few older entries may stay). On Redis before 8.2 this drops entries a group has
   * not handled yet (`status` warns before it happens); on Redis 8.2+ only entries every group acknowledged
   * (`ACKED`, detected at connect, also used with `maxLen`). Not together with `maxLen`. Off by default.
   */
  maxAge?: number;
  /** Turns payloads into entry fields. @defaultValue JSON `data` field */
  serializer?: StreamSerializer;
  /** Turns reply entries into values. @defaultValue JSON `data` field */
  deserializer?: StreamDeserializer;
  /**
   * How long `send()` waits for a reply, in ms (for a handler that streams several values: for the next one).
   * @defaultValue 30000
   */
  requestTimeout?: number;
  /**
   * Time to live (ms) of this client's reply stream, pushed back every third of it while the client runs: the reply
   * stream of a client that crashed without `close()` expires after this long. @defaultValue 60000
   */
  replyTtl?: number;
  /** Told about each append, and may add headers to it: `new RedisStreamsTracing()` traces emits and requests. */
  observer?: RedisStreamsClientObserver;
}

/**
 * Per-handler options, given as the pattern decorator's extras:
 * `@EventPattern('Email', { group: 'BIGroup', concurrency: 5 })`.
 */
export interface RedisStreamsHandlerOptions {
  /** The consumer group of this handler; the server's `group` when unset. */
  group?: string;
  /** Entries of this handler's reader in flight at once. */
  concurrency?: number;
  /** Deliveries before the entry goes to the dead-letter stream. */
  maxDeliveries?: number;
  /** When entries are acknowledged. */
  ack?: AckMode;
  /** Read with plain XREAD: every instance gets every entry. Set by `@Broadcast`. */
  broadcast?: boolean;
}

export const DEFAULT_CONNECTION = 'redis://127.0.0.1:6379';

export const DEFAULT_RETRY_BACKOFF: RetryBackoff = (deliveries) => Math.min(1000 * 2 ** (deliveries - 1), 60_000);

export const SERVER_DEFAULTS = Object.freeze({
  connection: DEFAULT_CONNECTION,
  keyPrefix: '',
  maxPayloadBytes: 16 * 1024 * 1024,
  block: 2000,
  count: 100,
  concurrency: 50,
  startId: '$',
  broadcastStartId: '$',
  ack: 'after-success',
  shutdownTimeout: 10_000,
  minIdleTime: 30_000,
  claimInterval: 5000,
  maxDeliveries: 5,
  retryBackoff: DEFAULT_RETRY_BACKOFF,
  deadLetterStream: (stream: string) => `${stream}:dead`,
  partitions: {},
  partitionLeaseTime: 10_000,
  consumerIdleTimeout: 3_600_000,
  heartbeatInterval: 5000,
});

export const CLIENT_DEFAULTS = Object.freeze({
  connection: DEFAULT_CONNECTION,
  keyPrefix: '',
  maxPayloadBytes: 16 * 1024 * 1024,
  requestTimeout: 30_000,
  replyTtl: 60_000,
});
