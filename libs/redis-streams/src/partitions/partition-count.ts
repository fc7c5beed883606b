import type { Redis } from 'ioredis';
import { PartitionCountMismatchError } from '../errors/partition-count-mismatch.error.js';
import { partitionCountKey } from './partition-keys.js';

/**
 * Records the partition count of a stream key if none is recorded yet (SET NX), and checks it otherwise: a producer or
 * consumer with another count refuses to start.
 */
export async function checkPartitionCount(redis: Redis, stream: string, key: string, count: number): Promise<void> {
  const countKey = partitionCountKey(key);
  await redis.set(countKey, String(count), 'NX');
  const recorded = Number(await redis.get(countKey));
  if (recorded !== count) throw new PartitionCountMismatchError(stream, count, recorded);
}
