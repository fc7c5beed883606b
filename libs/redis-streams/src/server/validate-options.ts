import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { isValidPosition } from '../history/stream-position.js';
import { allNames, knownNames, nonEmptyString, oneOf, positiveInteger } from './option-checks.js';
import type {
  RedisStreamsClientOptions,
  RedisStreamsServerOptions,
} from '../interfaces/redis-streams-options.interface.js';

export const ACK_MODES = ['after-success', 'manual', 'on-receipt'] as const;

const COMMON_NAMES = ['connection', 'keyPrefix', 'maxPayloadBytes', 'serializer', 'deserializer'] as const;
/** Every option `RedisStreamsServer` takes. */
export const SERVER_OPTION_NAMES = allNames<RedisStreamsServerOptions>()([
  ...COMMON_NAMES,
  'group',
  'consumer',
  'block',
  'count',
  'concurrency',
  'startId',
  'broadcastStartId',
  'ack',
  'shutdownTimeout',
  'minIdleTime',
  'claimInterval',
  'maxDeliveries',
  'retryBackoff',
  'deadLetterStream',
  'consumerIdleTimeout',
  'heartbeatInterval',
  'partitions',
  'partitionLeaseTime',
]);
/** Every option `RedisStreamsClient` takes. */
export const CLIENT_OPTION_NAMES = allNames<RedisStreamsClientOptions>()([
  ...COMMON_NAMES,
  'maxLen',
  'maxAge',
  'requestTimeout',
  'replyTtl',
  'observer',
  'durability',
  'partitions',
]);

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
    const settleTimeout: unknown = connection.settleTimeout;
    if (settleTimeout !== undefined && (typeof settleTimeout !== 'number' || !(settleTimeout >= 0))) {
      throw new InvalidOptionsError(
        'connection.settleTimeout',
        `expected a number of ms (0 or more), got ${JSON.stringify(settleTimeout)}.`,
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
  positiveInteger({ ...options }, 'maxPayloadBytes');
}

export function validateServerOptions(options: RedisStreamsServerOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'RedisStreamsServer takes an options object.');
  }
  knownNames(options, SERVER_OPTION_NAMES, 'RedisStreamsServer');
  common(options);
  const record = { ...options } as Record<string, unknown>;
  nonEmptyString(record, 'group');
  validatePartitions(options.partitions);
  nonEmptyString(record, 'consumer');
  for (const name of ['block', 'count', 'concurrency', 'maxDeliveries', 'minIdleTime', 'partitionLeaseTime'] as const)
    positiveInteger(record, name);
  for (const name of ['shutdownTimeout', 'claimInterval', 'consumerIdleTimeout', 'heartbeatInterval'] as const)
    positiveInteger(record, name, undefined, true);
  for (const name of ['startId', 'broadcastStartId'] as const) {
    const value = options[name];
    if (value !== undefined && !isValidPosition(value, ['$'])) {
      throw new InvalidOptionsError(
        name,
        `expected '$' (only new entries), '0' (the whole stream), an entry id like 1700000000000-0, or a time as a ` +
          `Date or ISO string like 2026-11-27T10:00:00Z, got ${value instanceof Date ? 'an invalid Date' : JSON.stringify(value)}.`,
      );
    }
  }
  oneOf(record, 'ack', ACK_MODES);
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
  knownNames(options, CLIENT_OPTION_NAMES, 'RedisStreamsClient');
  common(options);
  const record = { ...options } as Record<string, unknown>;
  for (const name of ['maxLen', 'maxAge', 'requestTimeout', 'replyTtl'] as const) positiveInteger(record, name);
  if (options.maxLen !== undefined && options.maxAge !== undefined) {
    throw new InvalidOptionsError('maxAge', 'trims by age and `maxLen` by length; XADD takes one of them: keep one.');
  }
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
