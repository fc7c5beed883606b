import type { Redis } from 'ioredis';
import { StreamHistory } from '../history/stream-history.js';
import { idBefore, type StreamPosition, timeOf } from '../history/stream-position.js';
import { lastGeneratedId, readStreams } from '../redis/stream-commands.js';
import { UsageError } from './cli.error.js';
import { entryJson, entrySummary } from './entry-format.js';

export interface TailCommandOptions {
  prefix: string;
  stream: string;
  /** Where to start; the stream's end (only new entries) when unset. */
  since?: StreamPosition;
  /** Stop after this many entries; follow until interrupted when unset. */
  count?: number;
  json: boolean;
  /** Where each line goes. */
  write: (line: string) => void;
  /** Told where following starts, once it does. */
  started: (message: string) => void;
  /** Resolves when the operator interrupts (Ctrl-C). */
  interrupted: Promise<void>;
}

/**
 * `tail <stream>`: prints entries as they are added, like `tail -f` (one line each, or one JSON object per line with
 * --json). Reads with XREAD BLOCK on its own connection, one second at a time, so an interrupt ends it promptly.
 */
export async function tailCommand(redis: Redis, options: TailCommandOptions): Promise<string> {
  const key = options.prefix + options.stream;
  const history = new StreamHistory(redis, { keyPrefix: options.prefix });
  const keys = await history.keysOf(options.stream);
  // Following every partition would take a blocked read per partition (they are in different slots on a cluster).
  if (keys[0].partition !== undefined) {
    throw new UsageError(
      `Stream "${options.stream}" is partitioned (${keys.length} partitions): \`tail\` follows one stream. Follow a ` +
        `partition (\`tail ${options.stream}:p0\` … \`tail ${options.stream}:p${keys.length - 1}\`), or read all of ` +
        `them as one with \`history ${options.stream} --since …\`.`,
    );
  }
  let after = await startId(redis, key, options.since);
  options.started(`Following stream "${options.stream}" (key ${key}) after ${after}; Ctrl-C to stop.`);
  let stop = false;
  void options.interrupted.then(() => (stop = true));
  let printed = 0;
  while (!stop && (options.count === undefined || printed < options.count)) {
    const reply = await readStreams(redis, 100, 1000, [key], [after]);
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        after = id;
        if (!fields) continue;
        const entry = history.decodeEntry(options.stream, id, fields);
        options.write(
          options.json
            ? JSON.stringify(entryJson(entry))
            : `${entry.id}  ${entry.timestamp.toISOString()}  ${entrySummary(entry, 200)}`,
        );
        if (options.count !== undefined && ++printed >= options.count) return '';
      }
    }
  }
  return '';
}

/** XREAD returns entries after the id given: the end for "new entries", or the id just before a start that was asked. */
async function startId(redis: Redis, key: string, since: StreamPosition | undefined): Promise<string> {
  if (since === undefined || since === '$' || since === '+') return lastGeneratedId(redis, key);
  const time = timeOf(since);
  if (time) return idBefore(time);
  const id = since as string;
  if (id === '-' || id === '0') return '0-0';
  if (id.startsWith('(')) return id.slice(1);
  const [ms, seq = 0n] = id.split('-').map(BigInt);
  return seq > 0n ? `${ms}-${seq - 1n}` : idBefore(new Date(Number(ms)));
}
