import type { Redis } from 'ioredis';
import { defaultDeadLetterKey } from '../cluster/key-slot.js';
import { DeadLetters } from '../dead-letter/dead-letters.js';
import { StreamNotFoundError } from '../inspect/index.js';
import { CliError } from './cli.error.js';
import { formatTable } from './format-table.js';

export interface DeadLettersCommandOptions {
  prefix: string;
  deadLetterSuffix: string;
  /** Connected to a Redis Cluster (`--cluster`): dead-letter streams are `{stream}` + suffix. */
  cluster: boolean;
  stream: string;
  json: boolean;
  /** How many to list or replay (oldest first). */
  count: number;
  /** Replay exactly these dead-letter ids. */
  ids: string[];
}

/** `dead-letters list <stream>`: the oldest `count` dead letters of a stream. */
export async function listDeadLetters(redis: Redis, options: DeadLettersCommandOptions): Promise<string> {
  const { deadLetters, deadKey } = await open(redis, options);
  const letters = await deadLetters.list(options.stream, options.count);
  if (options.json)
    return JSON.stringify(
      {
        stream: options.stream,
        deadLetterKey: deadKey,
        total: await deadLetters.count(options.stream),
        deadLetters: letters,
      },
      null,
      2,
    );
  if (letters.length === 0) return `No dead letters for stream "${options.stream}" (key ${deadKey}).`;
  const total = await deadLetters.count(options.stream);
  const table = formatTable(
    ['DEAD-LETTER ID', 'ORIGINAL ID', 'GROUP', 'CONSUMER', 'DELIVERIES', 'AT', 'REASON'],
    letters.map((l) => [l.id, l.originalId, l.group, l.consumer, l.deliveries, l.at, oneLine(l.reason, 100)]),
  );
  const more = total > letters.length ? `\n\n${letters.length} of ${total} shown; raise --count to see more.` : '';
  return table + more;
}

/** `dead-letters replay <stream>`: moves dead letters back onto their stream as new entries. */
export async function replayDeadLetters(redis: Redis, options: DeadLettersCommandOptions): Promise<string> {
  const { deadLetters, deadKey } = await open(redis, options);
  const ids = options.ids.length > 0 ? options.ids : undefined;
  const replayed = await deadLetters.replay(options.stream, ids ? { ids } : { count: options.count });
  if (ids && replayed.length < ids.length) {
    // Each id is replayed atomically on its own; the ones found were replayed, the rest are reported.
    const missing = ids.length - replayed.length;
    throw new CliError(
      `Replayed ${replayed.length} of ${ids.length} dead letters onto "${options.stream}"; ${missing} of the given ids ` +
        `are not in ${deadKey} (already replayed, or a typo). See \`dead-letters list ${options.stream}\`.`,
    );
  }
  if (options.json) return JSON.stringify({ stream: options.stream, replayed }, null, 2);
  if (replayed.length === 0) return `No dead letters to replay for stream "${options.stream}" (key ${deadKey}).`;
  return `Replayed ${replayed.length} dead letters onto stream "${options.stream}" as new entries: ${replayed.join(' ')}`;
}

/** A typo in the stream name should not read as "no dead letters": one of the two streams must exist. */
async function open(
  redis: Redis,
  options: DeadLettersCommandOptions,
): Promise<{ deadLetters: DeadLetters; deadKey: string }> {
  const key = options.prefix + options.stream;
  const deadKey = defaultDeadLetterKey(key, options.cluster, options.deadLetterSuffix);
  if ((await redis.exists(key, deadKey)) === 0) throw new StreamNotFoundError(options.stream, key);
  const deadLetters = new DeadLetters(redis, {
    keyPrefix: options.prefix,
    deadLetterStream: (k) => defaultDeadLetterKey(k, options.cluster, options.deadLetterSuffix),
  });
  return { deadLetters, deadKey };
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
