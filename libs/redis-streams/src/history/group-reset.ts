// `resetGroup` on every key a stream name covers. A partitioned stream's partitions are keys of their own (in different
// slots on a cluster), so each is inspected and moved by its own commands: nothing is moved before every partition was
// checked, but the moves are not one transaction. A reset to a time or an id can be run again to finish one cut short.
import type { Redis } from 'ioredis';
import { GroupNotFoundError, StreamNotFoundError } from '../inspect/inspect.errors.js';
import {
  createGroupAt,
  lastDeliveredId,
  pendingSummary,
  setGroupId,
  streamEnd,
  type StreamEnd,
} from '../redis/history-commands.js';
import { compareIds } from '../redis/stream-commands.js';
import { groupPosition } from './group-position.js';
import { GroupHasPendingError } from './history.errors.js';
import type { StreamKey } from './stream-keys.js';
import type { StreamPosition } from './stream-position.js';

/** How a group was moved on one stream key. */
export interface GroupMove {
  /** The group's last-delivered id before the move; `null` on a partition the group was not on yet (created there). */
  previousId: string | null;
  /** Its last-delivered id now: it reads next the entries after it. */
  id: string;
  /** Entries the group will now read (again, when moved back); equals its `lag` in XINFO right after the move. */
  toRead: number;
  /** Entries its consumers held when it was moved (only with `force`); those the move goes back over are delivered again. */
  pending: number;
}

/** The outcome of `resetGroup`. On a partitioned stream: `previousId` and `id` are the newest of the partitions'. */
export interface GroupReset extends GroupMove {
  stream: string;
  group: string;
  previousId: string;
  /** A partitioned stream's partitions, each moved on its own key; `toRead` and `pending` above are their sums. */
  partitions?: (GroupMove & { partition: number; key: string })[];
}

/** Where the group stands on one key; `previousId` null: the group (or the stream) is not there. */
interface GroupAt extends StreamKey {
  end: StreamEnd | null;
  previousId: string | null;
  consumers: { name: string; pending: number }[];
  pending: number;
}

export async function resetGroupOn(
  redis: Redis,
  stream: string,
  keys: StreamKey[],
  group: string,
  to: StreamPosition,
  force: boolean,
): Promise<GroupReset> {
  const at = await Promise.all(keys.map((key) => groupAt(redis, key, group)));
  const named = keys.map(({ key }) => key).join(', ');
  if (at.every(({ end }) => end === null)) throw new StreamNotFoundError(stream, named);
  if (at.every(({ previousId }) => previousId === null)) throw new GroupNotFoundError(stream, named, group);
  const pending = at.reduce((sum, key) => sum + key.pending, 0);
  if (pending > 0 && !force) throw new GroupHasPendingError(stream, group, pending, pendingConsumers(at));
  const moves = await Promise.all(at.map((key) => moveGroup(redis, key, group, to)));
  const newest = (ids: (string | null)[]): string =>
    ids.reduce<string>((max, id) => (id !== null && compareIds(id, max) > 0 ? id : max), '0-0');
  const reset: GroupReset = {
    stream,
    group,
    previousId: newest(moves.map((move) => move.previousId)),
    id: newest(moves.map((move) => move.id)),
    toRead: moves.reduce((sum, move) => sum + move.toRead, 0),
    pending,
  };
  if (keys[0].partition === undefined) return reset;
  return { ...reset, partitions: moves.map((move, i) => ({ partition: i, key: keys[i].key, ...move })) };
}

async function groupAt(redis: Redis, key: StreamKey, group: string): Promise<GroupAt> {
  const end = await streamEnd(redis, key.key);
  const previousId = end ? await lastDeliveredId(redis, key.key, group) : null;
  if (previousId === null) return { ...key, end, previousId, consumers: [], pending: 0 };
  const { count, consumers } = await pendingSummary(redis, key.key, group);
  return { ...key, end, previousId, consumers, pending: count };
}

async function moveGroup(redis: Redis, at: GroupAt, group: string, to: StreamPosition): Promise<GroupMove> {
  const position = await groupPosition(redis, at.key, at.end, to);
  // A partition the group is not on yet (no owner has read it) gets the group at the same position: otherwise its first
  // owner would create it at `startId` and the group would not read that partition from `to`.
  const created =
    at.previousId === null && (await createGroupAt(redis, at.key, group, position.id, position.entriesRead));
  if (!created) await setGroupId(redis, at.key, group, position.id, position.entriesRead);
  return { previousId: at.previousId, id: position.id, toRead: position.toRead, pending: at.pending };
}

/** The consumers holding pending entries, over all keys, with their counts added up. */
function pendingConsumers(at: GroupAt[]): { name: string; pending: number }[] {
  const byName = new Map<string, number>();
  for (const { name, pending } of at.flatMap((key) => key.consumers)) {
    byName.set(name, (byName.get(name) ?? 0) + pending);
  }
  return [...byName].map(([name, pending]) => ({ name, pending }));
}
