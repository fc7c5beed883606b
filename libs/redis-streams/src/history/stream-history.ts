import type { Cluster, Redis } from 'ioredis';
import type { StreamDeserializer, StreamHeaders } from '../interfaces/serialization.interface.js';
import { readRange } from '../redis/history-commands.js';
import { idTimestamp } from '../redis/stream-commands.js';
import { JsonEntryDeserializer } from '../serialization/json-entry.deserializer.js';
import { validatePartitions } from '../server/validate-options.js';
import { type GroupReset, resetGroupOn } from './group-reset.js';
import { mergeById } from './merge-by-id.js';
import { type StreamKey, streamKeysOf } from './stream-keys.js';
import { rangeEnd, rangeStart, type StreamPosition } from './stream-position.js';

/** A past entry, decoded as a handler would see it. */
export interface HistoryEntry {
  /** The stream name as given (without the key prefix). */
  stream: string;
  /** The partition it came from, on a partitioned stream (as `ctx.getPartition()` tells a handler). */
  partition?: number;
  id: string;
  /** When Redis added it (the time part of its id). */
  timestamp: Date;
  /** The payload, as `@Payload()` gets it; `undefined` when `error` is set. */
  data: unknown;
  headers: StreamHeaders;
  /** The raw field/value list. */
  fields: string[];
  /** Why the entry couldn't be decoded (a handler never gets such an entry: it is dead-lettered). */
  error?: string;
}

/** A range of a stream's past. Bounds are inclusive; a time covers its whole millisecond. */
export interface HistoryRange {
  /**
   * The oldest entry to include: a `Date`, an ISO time, an entry id (`(id` leaves it out, to page on from it), or `-`
   * (the start). @defaultValue `'-'`
   */
  since?: StreamPosition;
  /** The newest entry to include: a `Date`, an ISO time, an entry id (`(id` leaves it out), or `+` (the end). @defaultValue `'+'` */
  until?: StreamPosition;
  /** Newest first (XREVRANGE). @defaultValue false */
  reverse?: boolean;
  /** Entries fetched per round trip (COUNT); memory holds one page (one per partition). @defaultValue 500 */
  pageSize?: number;
  /** Stop after this many entries. @defaultValue no limit */
  limit?: number;
}

export interface StreamHistoryOptions {
  /** As given to the server and client. @defaultValue `''` */
  keyPrefix?: string;
  /** As given to the server. @defaultValue JSON `data` field, or plain field/value pairs */
  deserializer?: StreamDeserializer;
  /**
   * Partitioned streams, as on the server and client (`{ Orders: 4 }`), each checked against the count recorded in Redis
   * (`PartitionCountMismatchError` when they differ). Not needed: a stream whose count is recorded (by its first
   * producer or consumer, in `Orders:partitions`) is read as partitioned without it. @defaultValue the recorded counts
   */
  partitions?: Record<string, number>;
}

/**
 * Reads a stream's past by time or id, and moves consumer groups to another position. Streams are named as handlers
 * name them; the key prefix is added here. A partitioned stream reads and moves as one: all its partitions.
 */
export class StreamHistory {
  private readonly keyPrefix: string;
  private readonly deserializer: StreamDeserializer;
  private readonly redis: Redis;
  private readonly partitions: Record<string, number>;

  /** `redis`: an ioredis `Redis`, or a `Cluster` (e.g. a cluster server's `unwrap()`; commands are routed by key). */
  constructor(redis: Redis | Cluster, options: StreamHistoryOptions = {}) {
    // A Cluster answers these single-key commands like a Redis (see createRedis).
    this.redis = redis as Redis;
    this.keyPrefix = options.keyPrefix ?? '';
    this.deserializer = options.deserializer ?? new JsonEntryDeserializer();
    validatePartitions(options.partitions);
    this.partitions = options.partitions ?? {};
  }

  /**
   * The entries of `stream` in `range`, oldest first (newest first with `reverse`), fetched a page at a time as the
   * loop asks for them. A missing stream has no entries. A partitioned stream's partitions are merged by id; each
   * stream numbers its own entries, so two partitions can hold the same id: those come in partition order (reversed
   * with `reverse`), and a bound `(id` leaves the id out of every partition.
   */
  async *read(stream: string, range: HistoryRange = {}): AsyncGenerator<HistoryEntry, void, undefined> {
    const keys = await this.keysOf(stream);
    if (keys.length === 1) {
      yield* this.readKey(stream, keys[0], range);
      return;
    }
    let left = range.limit ?? Infinity;
    const sources = keys.map((key) => this.readKey(stream, key, range));
    for await (const entry of mergeById(sources, range.reverse ?? false)) {
      if (left-- <= 0) return;
      yield entry;
    }
  }

  /**
   * The Redis keys a stream name covers: its prefixed key, or its partitions' keys in partition order (the count
   * recorded in Redis, checked against `partitions` when given there).
   */
  keysOf(stream: string): Promise<StreamKey[]> {
    return streamKeysOf(this.redis, this.keyPrefix, stream, this.partitions[stream]);
  }

  private async *readKey(
    stream: string,
    { key, partition }: StreamKey,
    range: HistoryRange,
  ): AsyncGenerator<HistoryEntry, void> {
    const pageSize = range.pageSize ?? 500;
    const reverse = range.reverse ?? false;
    let start = rangeStart(range.since ?? '-');
    let end = rangeEnd(range.until ?? '+');
    let left = range.limit ?? Infinity;
    while (left > 0) {
      const page = await readRange(this.redis, key, start, end, Math.min(pageSize, left), reverse);
      for (const [id, fields] of page) {
        if (fields) yield this.decodeEntry(stream, id, fields, partition);
      }
      left -= page.length;
      if (page.length < pageSize) return;
      const lastId = page[page.length - 1][0];
      if (reverse) end = `(${lastId}`;
      else start = `(${lastId}`;
    }
  }

  /** Collects `read` into an array: for small ranges (a page of a view), with `limit` set. */
  async list(stream: string, range: HistoryRange = {}): Promise<HistoryEntry[]> {
    const entries: HistoryEntry[] = [];
    for await (const entry of this.read(stream, range)) entries.push(entry);
    return entries;
  }

  /**
   * Moves consumer group `group` of `stream` so that it reads next from `to`: a `Date` or ISO time (the first entry at
   * or after it), an entry id (the entries after it, as XGROUP SETID), `'$'` (only new entries) or `'0'` (the whole
   * stream). Sets ENTRIESREAD so the group's `lag` stays right. Refused with `GroupHasPendingError` while its consumers
   * hold unacknowledged entries, unless `force`: the group then reads on from its new position, and one it moves back
   * over is delivered again to whichever consumer reads next (its holder does not run it twice; another consumer runs
   * it, and the old run's effects are refused, though the runs may overlap). A partitioned stream's group is moved on
   * every partition, `to` applying to each (`'$'`: each partition's end); partition leases are left as they are.
   */
  async resetGroup(
    stream: string,
    group: string,
    to: StreamPosition,
    options: { force?: boolean } = {},
  ): Promise<GroupReset> {
    return resetGroupOn(this.redis, stream, await this.keysOf(stream), group, to, options.force ?? false);
  }

  /** Decodes one entry as `read` does (for a reader of new entries, such as the CLI's `tail`). */
  decodeEntry(stream: string, id: string, fields: string[], partition?: number): HistoryEntry {
    const entry = {
      stream,
      ...(partition === undefined ? {} : { partition }),
      id,
      timestamp: new Date(idTimestamp(id)),
    };
    try {
      const { data, headers } = this.deserializer.deserialize(fields);
      return { ...entry, data, headers, fields };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      return { ...entry, data: undefined, headers: {}, fields, error };
    }
  }
}
