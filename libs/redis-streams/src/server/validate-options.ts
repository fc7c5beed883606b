import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type {
  RedisStreamsClientOptions,
  RedisStreamsServerOptions,
} from '../interfaces/redis-streams-options.interface.js';

const ID = /^(\$|0|\d+(-\d+)?)$/;

function positiveInteger(options: object, name: string, allowZero = false): void {
  const value = (options as Record<string, unknown>)[name];
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new InvalidOptionsError(
      name,
      `expected a whole number ${allowZero ? '>= 0' : '>= 1'}, got ${JSON.stringify(value)}.`,
    );
  }
}

function nonEmptyString(options: object, name: string): void {
  const value = (options as Record<string, unknown>)[name];
  if (value !== undefined && (typeof value !== 'string' || value.trim() === '')) {
    throw new InvalidOptionsError(name, `expected a non-empty string, got ${JSON.stringify(value)}.`);
  }
}

function common(options: RedisStreamsServerOptions | RedisStreamsClientOptions): void {
  const { connection, keyPrefix } = options;
  if (
    connection !== undefined &&
    typeof connection !== 'string' &&
    (typeof connection !== 'object' || connection === null)
  ) {
    throw new InvalidOptionsError(
      'connection',
      'expected a Redis URL such as redis://127.0.0.1:6379, or ioredis options.',
    );
  }
  if (typeof connection === 'object' && connection !== null && 'cluster' in connection) {
    const nodes: unknown = connection.cluster;
    const valid = (node: unknown): boolean =>
      typeof node === 'string'
        ? /^.+:\d+$/.test(node)
        : typeof node === 'object' && node !== null && typeof (node as { port?: unknown }).port === 'number';
    if (!Array.isArray(nodes) || nodes.length === 0 || !nodes.every(valid)) {
      throw new InvalidOptionsError(
        'connection.cluster',
        `expected a non-empty list of 'host:port' strings or { host, port } objects, got ${JSON.stringify(nodes)}.`,
      );
    }
  }
  if (typeof connection === 'string' && !/^rediss?:\/\//.test(connection)) {
    throw new InvalidOptionsError(
      'connection',
      `expected a URL starting with redis:// or rediss://, got "${connection}".`,
    );
  }
  const clusterOptions =
    typeof connection === 'object' && 'cluster' in connection ? connection.clusterOptions : undefined;
  if (
    (typeof connection === 'object' && connection !== null && 'keyPrefix' in connection) ||
    clusterOptions?.keyPrefix !== undefined ||
    clusterOptions?.redisOptions?.keyPrefix !== undefined
  ) {
    throw new InvalidOptionsError(
      'connection',
      "ioredis's own `keyPrefix` inside `connection` would prefix only some of the transport's commands (XADD and " +
        "XREADGROUP, but not XGROUP or XINFO). Move it out of `connection` to the transport's `keyPrefix` option, " +
        "which prefixes every stream key: { connection: { host, port }, keyPrefix: 'app:' }.",
    );
  }
  if (keyPrefix !== undefined && typeof keyPrefix !== 'string') {
    throw new InvalidOptionsError('keyPrefix', `expected a string, got ${JSON.stringify(keyPrefix)}.`);
  }
  positiveInteger(options, 'maxPayloadBytes');
}

export function validateServerOptions(options: RedisStreamsServerOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'RedisStreamsServer takes an options object.');
  }
  common(options);
  nonEmptyString(options, 'group');
  validatePartitions(options.partitions);
  nonEmptyString(options, 'consumer');
  for (const name of ['block', 'count', 'concurrency', 'maxDeliveries', 'minIdleTime', 'partitionLeaseTime'] as const)
    positiveInteger(options, name);
  for (const name of ['shutdownTimeout', 'claimInterval', 'consumerIdleTimeout', 'heartbeatInterval'] as const)
    positiveInteger(options, name, true);
  for (const name of ['startId', 'broadcastStartId'] as const) {
    const value = options[name];
    if (value !== undefined && !ID.test(value)) {
      throw new InvalidOptionsError(
        name,
        `expected '$' (only new entries), '0' (the whole stream) or an entry id like 1700000000000-0, got ${JSON.stringify(value)}.`,
      );
    }
  }
  if (options.ack !== undefined && !['after-success', 'manual', 'on-receipt'].includes(options.ack)) {
    throw new InvalidOptionsError(
      'ack',
      `expected 'after-success', 'manual' or 'on-receipt', got ${JSON.stringify(options.ack)}.`,
    );
  }
  if (
    options.deadLetterStream !== undefined &&
    options.deadLetterStream !== false &&
    typeof options.deadLetterStream !== 'function'
  ) {
    throw new InvalidOptionsError('deadLetterStream', 'expected a function (stream key => dead-letter key) or false.');
  }
  if (options.retryBackoff !== undefined && typeof options.retryBackoff !== 'function') {
    throw new InvalidOptionsError('retryBackoff', 'expected a function (deliveries => delay in ms).');
  }
}

export function validateClientOptions(options: RedisStreamsClientOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'RedisStreamsClient takes an options object.');
  }
  common(options);
  positiveInteger(options, 'maxLen');
  validatePartitions(options.partitions);
  if (options.durability !== undefined) {
    const { replicas, timeout } = options.durability ?? {};
    const whole = (n: unknown): boolean => typeof n === 'number' && Number.isInteger(n) && n >= 1;
    if (!whole(replicas) || !whole(timeout)) {
      throw new InvalidOptionsError(
        'durability',
        `expected { replicas, timeout } as whole numbers >= 1 (replicas to confirm each emit, ms to wait for them), ` +
          `got ${JSON.stringify(options.durability)}.`,
      );
    }
  }
  positiveInteger(options, 'requestTimeout');
  positiveInteger(options, 'replyTtl');
}

/** `partitions`: stream names mapped to whole partition counts >= 1. */
export function validatePartitions(partitions: unknown): void {
  if (partitions === undefined) return;
  const valid =
    typeof partitions === 'object' &&
    partitions !== null &&
    Object.values(partitions).every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 1);
  if (!valid) {
    throw new InvalidOptionsError(
      'partitions',
      `expected { [stream]: partition count } with whole counts >= 1, e.g. { Orders: 4 }; got ${JSON.stringify(partitions)}.`,
    );
  }
}
