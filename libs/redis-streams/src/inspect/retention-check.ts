// Whether trimming by age is about to drop, or has dropped, entries a consumer group hasn't handled. Trimming (MINID
// or MAXLEN, before Redis 8.2's ACKED) doesn't look at groups, so `status` makes it visible instead.
import type { Redis } from 'ioredis';
import { firstIdFrom, pendingSummary, streamEnd } from '../redis/history-commands.js';
import { idTimestamp } from '../redis/stream-commands.js';
import type { GroupStatus, StreamStatus } from './stream-inspector.js';

/** A group whose oldest unfinished entry (pending, or not yet delivered) is close to the retention age. */
export interface RetentionWarning {
  stream: string;
  group: string;
  /** The oldest entry the group has not acknowledged: pending with one of its consumers, or not yet delivered. */
  oldestUnfinishedId: string;
  /** Its age in ms. */
  age: number;
  /** In how many ms trimming by age reaches it (0: at the next emit). */
  trimmedIn: number;
}

/** The share of the retention age from which an unfinished entry is reported. */
export const RETENTION_WARNING_SHARE = 0.9;

/** The groups of `stream` whose oldest unfinished entry is older than 90% of `maxAge` (ms) at `now`. */
export async function retentionWarnings(
  redis: Redis,
  stream: StreamStatus,
  maxAge: number,
  now: number,
): Promise<RetentionWarning[]> {
  const warnings: RetentionWarning[] = [];
  for (const group of stream.groups) {
    const pending = await pendingSummary(redis, stream.key, group.name);
    const undelivered = await firstIdFrom(redis, stream.key, `(${group.lastDeliveredId}`);
    const candidates = [pending.oldestId, undelivered].filter((id): id is string => id !== null);
    if (candidates.length === 0) continue;
    const oldest = Math.min(...candidates.map(idTimestamp));
    const age = now - oldest;
    if (age < maxAge * RETENTION_WARNING_SHARE) continue;
    const oldestUnfinishedId = candidates.find((id) => idTimestamp(id) === oldest)!;
    warnings.push({
      stream: stream.name,
      group: group.name,
      oldestUnfinishedId,
      age,
      trimmedIn: Math.max(0, maxAge - age),
    });
  }
  return warnings;
}

/**
 * Entries removed from the stream (trimmed or deleted) that `group` never read: what was removed, less what the group
 * had read. A group that never read anything (at `0-0`) missed all of them. `null` when Redis can't tell (the group's
 * read counter is unknown: created at an id without ENTRIESREAD, and nothing read since).
 */
export async function trimmedUnread(redis: Redis, stream: StreamStatus, group: GroupStatus): Promise<number | null> {
  const end = await streamEnd(redis, stream.key);
  if (!end) return 0;
  const removed = end.entriesAdded - end.length;
  if (group.lastDeliveredId === '0-0') return removed;
  if (group.entriesRead === null) return null;
  return Math.max(0, removed - group.entriesRead);
}
