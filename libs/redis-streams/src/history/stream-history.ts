import type { Cluster, Redis } from 'ioredis';
import { GroupNotFoundError, StreamNotFoundError } from '../inspect/inspect.errors.js';
import type { StreamDeserializer, StreamHeaders } from '../interfaces/serialization.interface.js';
import { lastDeliveredId, pendingSummary, readRange, setGroupId, streamEnd } from '../redis/history-commands.js';
import { idTimestamp } from '../redis/stream-commands.js';
import { JsonEntryDeserializer } from '../serialization/json-entry.deserializer.js';
import { groupPosition } from './group-position.js';
import { mergeById } from './merge-by-id.js';
import { GroupHasPendingError } from './history.errors.js';
import { rangeEnd, rangeStart, type StreamPosition } from './stream-position.js';

/** A past entry, decoded as a handler would see it. */
export interface HistoryEntry {
  /** The stream name as given (without the key prefix). */
  stream: string;
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
  /** Entries fetched per round trip (COUNT); memory holds one page. @defaultValue 500 */
  pageSize?: number;
  /** Stop after this many entries. @defaultValue no limit */
  limit?: number;
}

export interface StreamHistoryOptions {
  /** As given to the server and client. @defaultValue `''` */
  keyPrefix?: string;
  /** As given to the server. @defaultValue JSON `data` field, or plain field/value pairs */
  deserializer?: StreamDeserializer;
}

/** The outcome of `resetGroup`. */
export interface GroupReset {
  stream: string;
  group: string;
  /** The group's last-delivered id before the move. */
  previousId: string;
  /** Its last-delivered id now: it reads next the entries after it. */
  id: string;
  /** Entries the group will now read (again, when moved back); equals its `lag` in XINFO right after the move. */
  toRead: number;
  /** Entries its consumers held when it was moved (only with `force`); they stay pending. */
  pending: number;
}

/**
 * Reads a stream's past by time or id, and moves consumer groups to another position. Streams are named as handlers
 * name them; the key prefix is added here.
 */
export class StreamHistory {
  private readonly keyPrefix: string;
  private readonly deserializer: StreamDeserializer;
  private readonly redis: Redis;

  /** `redis`: an ioredis `Redis`, or a `Cluster` (e.g. a cluster server's `unwrap()`; commands are routed by key). */
  constructor(redis: Redis | Cluster, options: StreamHistoryOptions = {}) {
    // A Cluster answers these single-key commands like a Redis (see createRedis).
    this.redis = redis as Redis;
    this.keyPrefix = options.keyPrefix ?? '';
    this.deserializer = options.deserializer ?? new JsonEntryDeserializer();
  }

  /**
   * The entries of `stream` in `range`, oldest first (newest first with `reverse`), fetched a page at a time as the
   * loop asks for them. A missing stream has no entries.
   */
  async *read(stream: string, range: HistoryRange = {}): AsyncGenerator<HistoryEntry, void, undefined> {
    const keys = this.keysOf(stream);
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
   * The Redis keys a stream name reads: its prefixed key. A name that covers several keys (partitions) would list
   * them all here; `read` merges them by id.
   */
  private keysOf(stream: string): string[] {
    return [this.keyPrefix + stream];
  }

  private async *readKey(stream: string, key: string, range: HistoryRange): AsyncGenerator<HistoryEntry, void> {
    const pageSize = range.pageSize ?? 500;
    const reverse = range.reverse ?? false;
    let start = rangeStart(range.since ?? '-');
    let end = rangeEnd(range.until ?? '+');
    let left = range.limit ?? Infinity;
    while (left > 0) {
      const page = await readRange(this.redis, key, start, end, Math.min(pageSize, left), reverse);
      for (const [id, fields] of page) {
        if (fields) yield this.decodeEntry(stream, id, fields);
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
   * hold unacknowledged entries, unless `force`: those then stay pending with their consumers, to be acked, retried
   * or claimed as usual, while the group reads on from its new position.
   */
  async resetGroup(
    stream: string,
    group: string,
    to: StreamPosition,
    options: { force?: boolean } = {},
  ): Promise<GroupReset> {
    const key = this.keyPrefix + stream;
    const end = await streamEnd(this.redis, key);
    if (!end) throw new StreamNotFoundError(stream, key);
    let pending;
    try {
      pending = await pendingSummary(this.redis, key, group);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('NOGROUP')) throw new GroupNotFoundError(stream, key, group);
      throw err;
    }
    if (pending.count > 0 && !options.force)
      throw new GroupHasPendingError(stream, group, pending.count, pending.consumers);
    const previousId = (await lastDeliveredId(this.redis, key, group)) ?? '0-0';
    const position = await groupPosition(this.redis, key, end, to);
    await setGroupId(this.redis, key, group, position.id, position.entriesRead);
    return { stream, group, previousId, id: position.id, toRead: position.toRead, pending: pending.count };
  }

  /** Decodes one entry as `read` does (for a reader of new entries, such as the CLI's `tail`). */
  decodeEntry(stream: string, id: string, fields: string[]): HistoryEntry {
    const timestamp = new Date(idTimestamp(id));
    try {
      const { data, headers } = this.deserializer.deserialize(fields);
      return { stream, id, timestamp, data, headers, fields };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      return { stream, id, timestamp, data: undefined, headers: {}, fields, error };
    }
  }
}
