import type { Redis } from 'ioredis';
import { checkPartitionCount } from '../partitions/partition-count.js';
import { partitionKey, partitionOf } from '../partitions/partition-keys.js';

/**
 * Routes the emits of partitioned streams: an entry key to its partition (always the same), keyless entries round
 * robin. Before the first emit to a stream, the recorded partition count is checked (recorded when there is none).
 */
export class PartitionRouter {
  private readonly next = new Map<string, number>();
  private readonly checks = new Map<string, Promise<void>>();

  constructor(private readonly partitions: Record<string, number>) {}

  has(stream: string): boolean {
    return Object.hasOwn(this.partitions, stream);
  }

  /** The stream key an entry of `stream` goes to; undefined for a stream that is not partitioned. */
  keyOf(keyPrefix: string, stream: string, entryKey: string | undefined): string | undefined {
    if (!this.has(stream)) return undefined;
    const count = this.partitions[stream];
    let partition: number;
    if (entryKey !== undefined) partition = partitionOf(entryKey, count);
    else {
      partition = this.next.get(stream) ?? 0;
      this.next.set(stream, (partition + 1) % count);
    }
    return partitionKey(keyPrefix + stream, partition);
  }

  /** Resolves once the partition count of `stream` is known to match; rejects (every time) when it doesn't. */
  checked(redis: Redis, stream: string, keyPrefix: string): Promise<void> {
    let check = this.checks.get(stream);
    if (!check) {
      check = checkPartitionCount(redis, stream, keyPrefix + stream, this.partitions[stream]);
      this.checks.set(stream, check);
      // A failed check (Redis unreachable) is tried again by the next emit; a mismatch fails every emit.
      check.catch((err: unknown) => {
        if (!(err instanceof Error && err.name === 'PartitionCountMismatchError')) this.checks.delete(stream);
      });
    }
    return check;
  }
}
