import type { Redis } from 'ioredis';
import { type HistoryEntry, StreamHistory } from '../history/stream-history.js';
import type { StreamKey } from '../history/stream-keys.js';
import type { StreamPosition } from '../history/stream-position.js';
import { StreamNotFoundError } from '../inspect/index.js';
import { entryJson, entrySummary } from './entry-format.js';
import { formatTable } from './format-table.js';

export interface HistoryCommandOptions {
  prefix: string;
  stream: string;
  since: StreamPosition;
  until: StreamPosition;
  reverse: boolean;
  count: number;
  json: boolean;
}

/**
 * `history <stream>`: the entries of a time or id range, oldest first (newest first with --reverse). A partitioned
 * stream is read as one, each entry with its partition.
 */
export async function historyCommand(redis: Redis, options: HistoryCommandOptions): Promise<string> {
  const history = new StreamHistory(redis, { keyPrefix: options.prefix });
  const keys = await history.keysOf(options.stream);
  await mustExist(redis, options.stream, keys);
  const partitioned = keys[0].partition !== undefined;
  const { entries, more } = await readPage(history, options);
  if (options.json) {
    return JSON.stringify(
      {
        stream: options.stream,
        key: options.prefix + options.stream,
        ...(partitioned ? { partitions: keys.length } : {}),
        since: describe(options.since),
        until: describe(options.until),
        reverse: options.reverse,
        entries: entries.map(entryJson),
        more,
      },
      null,
      2,
    );
  }
  if (entries.length === 0) {
    return `No entries in stream "${options.stream}" from ${describe(options.since)} to ${describe(options.until)}.`;
  }
  const table = partitioned
    ? formatTable(
        ['ID', 'PARTITION', 'TIME', 'DATA'],
        entries.map((entry) => [entry.id, entry.partition ?? '-', entry.timestamp.toISOString(), entrySummary(entry)]),
      )
    : formatTable(
        ['ID', 'TIME', 'DATA'],
        entries.map((entry) => [entry.id, entry.timestamp.toISOString(), entrySummary(entry)]),
      );
  const last = entries[entries.length - 1].id;
  const next = options.reverse ? `--until "(${last}"` : `--since "(${last}"`;
  return more
    ? `${table}\n\n${entries.length} entries shown; there are more: raise --count, or page on with ${next}.`
    : table;
}

/** One EXISTS per key: a partitioned stream's keys are in different slots on a cluster. */
async function mustExist(redis: Redis, stream: string, keys: StreamKey[]): Promise<void> {
  const exists = await Promise.all(keys.map(({ key }) => redis.exists(key)));
  if (!exists.some((n) => n > 0)) throw new StreamNotFoundError(stream, keys.map(({ key }) => key).join(', '));
}

/**
 * Up to --count entries, and whether the range holds more. Two partitions can hold the same id, and paging on with
 * `(id` leaves that id out of every partition: so a page ends where the id changes, with a few more entries than
 * --count when it would end among equal ids.
 */
async function readPage(
  history: StreamHistory,
  options: HistoryCommandOptions,
): Promise<{ entries: HistoryEntry[]; more: boolean }> {
  const { stream, since, until, reverse, count } = options;
  const entries: HistoryEntry[] = [];
  for await (const entry of history.read(stream, { since, until, reverse, pageSize: Math.min(count + 1, 1000) })) {
    if (entries.length >= count && entry.id !== entries[entries.length - 1].id) return { entries, more: true };
    entries.push(entry);
  }
  return { entries, more: false };
}

function describe(position: StreamPosition): string {
  return position instanceof Date ? position.toISOString() : position;
}
