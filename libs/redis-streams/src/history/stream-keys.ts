import type { Redis } from 'ioredis';
import { readPartitionCount } from '../partitions/partition-count.js';
import { partitionKey } from '../partitions/partition-keys.js';

/** One Redis stream a stream name covers: the stream's own key, or one partition's. */
export interface StreamKey {
  key: string;
  /** The partition `key` holds, for a partitioned stream; `undefined` for a plain one. */
  partition?: number;
}

/**
 * The keys a stream name covers: each partition's key, in partition order, when the stream is partitioned (a count is
 * recorded in Redis, or `configured`; `readPartitionCount` checks one against the other), else its own key.
 */
export async function streamKeysOf(
  redis: Redis,
  keyPrefix: string,
  stream: string,
  configured: number | undefined,
): Promise<StreamKey[]> {
  const key = keyPrefix + stream;
  // A stream that exists under its own name is a plain one: no need to look for a count (nor for `+get` in the ACL).
  if (configured === undefined && (await redis.exists(key)) === 1) return [{ key }];
  const count = await readPartitionCount(redis, stream, key, configured);
  if (count === undefined) return [{ key }];
  return Array.from({ length: count }, (_, partition) => ({ key: partitionKey(key, partition), partition }));
}
