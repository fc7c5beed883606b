// Where a consumer group should stand for a requested position, and how many entries it will read from there. Shared
// by `resetGroup` and by the server when it creates a group at a time (`startId: new Date(…)`).
import type { Redis } from 'ioredis';
import { countAfter, type StreamEnd } from '../redis/history-commands.js';
import { compareIds } from '../redis/stream-commands.js';
import { idBefore, isEntryId, timeOf, type StreamPosition } from './stream-position.js';

/** Where a group goes: after which id it reads next, its ENTRIESREAD, and how many entries it has to read now. */
export interface GroupPosition {
  /** The group's new last-delivered id: it reads next the entries after it. */
  id: string;
  /** The count of entries before `id`, as XGROUP … ENTRIESREAD takes it, so `lag` in XINFO is right at once. */
  entriesRead: number;
  /** Entries in the stream after `id`: what the group will (re-)read. */
  toRead: number;
}

/**
 * Resolves `to` on a stream whose end is `end` (`null`: the stream doesn't exist yet). A time means "from the first
 * entry at or after it"; an id means "after this id" (as XGROUP does); `$` the end and `0` the start. A position past
 * the stream's last id is taken as the end: a group set ahead of the stream would skip entries Redis adds before
 * that id, and Redis couldn't tell its lag.
 */
export async function groupPosition(
  redis: Redis,
  key: string,
  end: StreamEnd | null,
  to: StreamPosition,
): Promise<GroupPosition> {
  const last = end?.lastGeneratedId ?? '0-0';
  let id = requestedId(to, last);
  if (compareIds(id, last) > 0) id = last;
  if (!end) return { id, entriesRead: 0, toRead: 0 };
  const toRead = compareIds(id, last) === 0 ? 0 : await countAfter(redis, key, id, last, end.length);
  return { id, entriesRead: Math.max(0, end.entriesAdded - toRead), toRead };
}

function requestedId(to: StreamPosition, last: string): string {
  if (to === '$' || to === '+') return last;
  if (to === '0' || to === '-') return '0-0';
  const time = timeOf(to);
  if (time) return idBefore(time);
  // `(id` (after the id) is what an id means here anyway.
  const id = typeof to === 'string' && to.startsWith('(') ? to.slice(1) : to;
  if (typeof id === 'string' && isEntryId(id)) return id.includes('-') ? id : `${id}-0`;
  throw new Error(`Not a stream position: ${JSON.stringify(to)}. Give a Date, an ISO time, an entry id, '$' or '0'.`);
}
