// How a partitioned logical stream is stored: `Orders` with 4 partitions is the streams `Orders:p0` … `Orders:p3`
// (no hash tag, so each hashes on its own name and the partitions spread over the slots, and so over the masters of a
// cluster), plus `Orders:partitions`, which records the partition count.

/** The stream key of partition `partition` of the stream key `key`. */
export function partitionKey(key: string, partition: number): string {
  return `${key}:p${partition}`;
}

/** The key that records the partition count of the stream key `key`. */
export function partitionCountKey(key: string): string {
  return `${key}:partitions`;
}

/** The partition of an entry key (FNV-1a of its UTF-8 bytes): the same key always goes to the same partition. */
export function partitionOf(entryKey: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(entryKey, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash % partitions;
}

/** The partition a stream key names (`…Orders:p3` for stream `Orders` → 3), or undefined. */
export function partitionNamed(key: string, stream: string): number | undefined {
  const match = /:p(\d+)$/.exec(key);
  return match && key.slice(0, match.index).endsWith(stream) ? Number(match[1]) : undefined;
}
