import type { Cluster, Redis } from 'ioredis';
import { defaultDeadLetterKey } from '../cluster/key-slot.js';
import { isCluster } from '../redis/connection.js';
import { DEAD_LETTER_FIELD_PREFIX, DEAD_LETTER_FIELDS } from '../constants.js';
import { REPLAY_DEAD_LETTER } from '../redis/scripts.js';
import { allNames, knownNames } from '../server/option-checks.js';

/** An entry in a dead-letter stream: the original fields and where and why it failed. */
export interface DeadLetter {
  /** Its id in the dead-letter stream. */
  id: string;
  /** The stream key it came from. */
  stream: string;
  /** Its id in that stream. */
  originalId: string;
  group: string;
  consumer: string;
  deliveries: number;
  reason: string;
  at: string;
  /** The original field/value pairs. */
  fields: Record<string, string>;
}

export interface DeadLettersOptions {
  /** As given to the server. @defaultValue `''` */
  keyPrefix?: string;
  /**
   * The dead-letter key of a stream key, as given to the server.
   * @defaultValue `` `${stream}:dead` ``, on a Redis Cluster `` `{${stream}}:dead` ``
   */
  deadLetterStream?: (stream: string) => string;
}

const DEAD_LETTERS_OPTION_NAMES = allNames<DeadLettersOptions>()(['keyPrefix', 'deadLetterStream']);

/** Operator API over dead-letter streams: list what failed, and replay entries back onto their stream. */
export class DeadLetters {
  private readonly keyPrefix: string;
  private readonly deadLetterStream: (stream: string) => string;

  private readonly redis: Redis;

  /** `redis`: an ioredis `Redis`, or a `Cluster` (e.g. a cluster server's `unwrap()`). */
  constructor(redis: Redis | Cluster, options: DeadLettersOptions = {}) {
    knownNames(options, DEAD_LETTERS_OPTION_NAMES, 'DeadLetters');
    const cluster = isCluster(redis);
    // A Cluster answers these commands like a Redis, routed by key (see createRedis).
    this.redis = redis as Redis;
    this.keyPrefix = options.keyPrefix ?? '';
    this.deadLetterStream = options.deadLetterStream ?? ((stream) => defaultDeadLetterKey(stream, cluster));
  }

  /** The dead letters of `stream` (a stream name, without prefix), oldest first. */
  async list(stream: string, count = 100, after = '-'): Promise<DeadLetter[]> {
    const rows = (await this.redis.xrange(this.deadKey(stream), after, '+', 'COUNT', count)) as [string, string[]][];
    return rows.map(([id, fields]) => toDeadLetter(id, fields));
  }

  async count(stream: string): Promise<number> {
    return this.redis.xlen(this.deadKey(stream));
  }

  /**
   * Moves dead letters back onto `stream` as new entries (with their original fields) and removes them from the
   * dead-letter stream, each atomically. Replays the given ids, or else the oldest `count`. Returns the new ids.
   */
  async replay(stream: string, options: { ids?: string[]; count?: number } = {}): Promise<string[]> {
    const deadKey = this.deadKey(stream);
    const ids = options.ids ?? (await this.list(stream, options.count ?? 100)).map((letter) => letter.id);
    const replayed: string[] = [];
    for (const id of ids) {
      const newId = await REPLAY_DEAD_LETTER.run<string | null>(
        this.redis,
        [deadKey, this.keyPrefix + stream],
        [id, DEAD_LETTER_FIELD_PREFIX],
      );
      if (newId) replayed.push(newId);
    }
    return replayed;
  }

  private deadKey(stream: string): string {
    return this.deadLetterStream(this.keyPrefix + stream);
  }
}

function toDeadLetter(id: string, raw: string[]): DeadLetter {
  const meta: Record<string, string> = {};
  const fields: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].startsWith(DEAD_LETTER_FIELD_PREFIX)) meta[raw[i]] = raw[i + 1];
    else fields[raw[i]] = raw[i + 1];
  }
  return {
    id,
    stream: meta[DEAD_LETTER_FIELDS.stream] ?? '',
    originalId: meta[DEAD_LETTER_FIELDS.id] ?? '',
    group: meta[DEAD_LETTER_FIELDS.group] ?? '',
    consumer: meta[DEAD_LETTER_FIELDS.consumer] ?? '',
    deliveries: Number(meta[DEAD_LETTER_FIELDS.deliveries] ?? 0),
    reason: meta[DEAD_LETTER_FIELDS.reason] ?? '',
    at: meta[DEAD_LETTER_FIELDS.at] ?? '',
    fields,
  };
}
