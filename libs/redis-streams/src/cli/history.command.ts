import type { Redis } from 'ioredis';
import { StreamHistory } from '../history/stream-history.js';
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

/** `history <stream>`: the entries of a time or id range, oldest first (newest first with --reverse). */
export async function historyCommand(redis: Redis, options: HistoryCommandOptions): Promise<string> {
  const key = options.prefix + options.stream;
  if ((await redis.exists(key)) === 0) throw new StreamNotFoundError(options.stream, key);
  const history = new StreamHistory(redis, { keyPrefix: options.prefix });
  const range = { since: options.since, until: options.until, reverse: options.reverse };
  // One more than asked, to tell whether the range holds more.
  const entries = await history.list(options.stream, {
    ...range,
    limit: options.count + 1,
    pageSize: Math.min(options.count + 1, 1000),
  });
  const more = entries.length > options.count;
  if (more) entries.pop();
  if (options.json) {
    return JSON.stringify(
      {
        stream: options.stream,
        key,
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
  const table = formatTable(
    ['ID', 'TIME', 'DATA'],
    entries.map((entry) => [entry.id, entry.timestamp.toISOString(), entrySummary(entry)]),
  );
  const last = entries[entries.length - 1].id;
  const next = options.reverse ? `--until "(${last}"` : `--since "(${last}"`;
  return more
    ? `${table}\n\n${entries.length} entries shown; there are more: raise --count, or page on with ${next}.`
    : table;
}

function describe(position: StreamPosition): string {
  return position instanceof Date ? position.toISOString() : position;
}
