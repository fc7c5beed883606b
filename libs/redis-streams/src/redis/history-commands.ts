// The reads and writes behind history and group moves: ranges by id (XRANGE / XREVRANGE, paged with exclusive ids),
// counts over a range, and XGROUP CREATE / SETID with ENTRIESREAD so that a group's `lag` in XINFO stays right.
import type { Redis } from 'ioredis';
import type { RawEntry } from './stream-commands.js';

/**
 * One page of a range: up to `count` entries from `start` to `end` (inclusive; `(id` excludes), oldest first, or
 * newest first when `reverse` (XREVRANGE, which takes the end first).
 */
export async function readRange(
  redis: Redis,
  key: string,
  start: string,
  end: string,
  count: number,
  reverse: boolean,
): Promise<RawEntry[]> {
  const reply = reverse
    ? await redis.call('XREVRANGE', key, end, start, 'COUNT', count)
    : await redis.call('XRANGE', key, start, end, 'COUNT', count);
  return reply as RawEntry[];
}

/** The first entry id at or after `start` (inclusive), or `null` when there is none. */
export async function firstIdFrom(redis: Redis, key: string, start: string): Promise<string | null> {
  const [entry] = await readRange(redis, key, start, '+', 1, false);
  return entry ? entry[0] : null;
}

/** What XINFO STREAM says about where a stream is, for counting from a fixed end while entries keep arriving. */
export interface StreamEnd {
  lastGeneratedId: string;
  /** Entries ever added (Redis 7: `entries-added`). */
  entriesAdded: number;
  length: number;
}

/** The stream's end, or `null` when the key doesn't exist. */
export async function streamEnd(redis: Redis, key: string): Promise<StreamEnd | null> {
  let raw: unknown[];
  try {
    raw = (await redis.call('XINFO', 'STREAM', key)) as unknown[];
  } catch (err) {
    if (err instanceof Error && /no such key/i.test(err.message)) return null;
    throw err;
  }
  const info: Record<string, unknown> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) info[String(raw[i])] = raw[i + 1];
  return {
    lastGeneratedId: String(info['last-generated-id']),
    entriesAdded: Number(info['entries-added'] ?? info.length),
    length: Number(info.length),
  };
}

/**
 * How many of the stream's `length` entries lie after `after` up to `until` (its last id). Counts both sides of
 * `after` a page of 1000 ids at a time, in turn, and stops at the first side to end: the cost is twice the smaller
 * side, and Redis is never blocked for long (it keeps no index that could count a range faster).
 */
export async function countAfter(
  redis: Redis,
  key: string,
  after: string,
  until: string,
  length: number,
): Promise<number> {
  const from = after === '0' || after === '0-0' ? '-' : `(${after}`;
  const sides = [
    { start: from, end: until, count: 0, after: true },
    { start: '-', end: after, count: 0, after: false },
  ];
  for (;;) {
    for (const side of sides) {
      const page = await readRange(redis, key, side.start, side.end, 1000, false);
      side.count += page.length;
      if (page.length < 1000) return side.after ? side.count : Math.max(0, length - side.count);
      side.start = `(${page[page.length - 1][0]}`;
    }
  }
}

/** XGROUP SETID with ENTRIESREAD (Redis 7): the group reads next what comes after `id`. */
export async function setGroupId(
  redis: Redis,
  key: string,
  group: string,
  id: string,
  entriesRead: number,
): Promise<void> {
  await redis.call('XGROUP', 'SETID', key, group, id, 'ENTRIESREAD', entriesRead);
}

/** XGROUP CREATE … MKSTREAM ENTRIESREAD (Redis 7); `false` when the group already exists (it is left as it is). */
export async function createGroupAt(
  redis: Redis,
  key: string,
  group: string,
  id: string,
  entriesRead: number,
): Promise<boolean> {
  try {
    await redis.call('XGROUP', 'CREATE', key, group, id, 'MKSTREAM', 'ENTRIESREAD', entriesRead);
    return true;
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('BUSYGROUP')) return false;
    throw err;
  }
}

/** A group's pending summary (XPENDING key group): how many entries its consumers hold, and who holds them. */
export async function pendingSummary(
  redis: Redis,
  key: string,
  group: string,
): Promise<{ count: number; oldestId: string | null; consumers: { name: string; pending: number }[] }> {
  const [count, oldestId, , consumers] = (await redis.call('XPENDING', key, group)) as [
    number,
    string | null,
    string | null,
    [string, string][] | null,
  ];
  return {
    count: Number(count),
    oldestId,
    consumers: (consumers ?? []).map(([name, pending]) => ({ name, pending: Number(pending) })),
  };
}

/** A group's last-delivered id (XINFO GROUPS), or `null` when the stream has no such group. */
export async function lastDeliveredId(redis: Redis, key: string, group: string): Promise<string | null> {
  const rows = (await redis.call('XINFO', 'GROUPS', key)) as unknown[][];
  for (const row of rows) {
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < row.length; i += 2) info[String(row[i])] = row[i + 1];
    if (info.name === group) return String(info['last-delivered-id']);
  }
  return null;
}
