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

/**
 * The partition count of a stream key for a reader (history, group reset), which records nothing: the recorded count,
 * checked against `configured` when given; `configured` when none is recorded; `undefined` for a plain stream.
 */
export async function readPartitionCount(
  redis: Redis,
  stream: string,
  key: string,
  configured: number | undefined,
): Promise<number | undefined> {
  const countKey = partitionCountKey(key);
  const text = await redis.get(countKey);
  if (text === null) return configured;
  const recorded = Number(text);
  if (!Number.isInteger(recorded) || recorded < 1)
    throw new Error(
      `Redis key "${countKey}" should hold the partition count of stream "${stream}" but holds "${text}".`,
    );
  if (configured !== undefined && configured !== recorded) {
    throw new PartitionCountMismatchError(
      stream,
      configured,
      recorded,
      `reading ${configured} partitions would miss entries or read streams that are not its partitions. Set ` +
        `\`partitions: { '${stream}': ${recorded} }\` on StreamHistory, or leave \`partitions\` out: it reads the recorded count.`,
    );
  }
  return recorded;
}
