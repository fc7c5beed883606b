// Reads XINFO STREAM / GROUPS / CONSUMERS into typed objects. Shared by the CLI (`status`), the health indicator and
// the metrics gauges, so all three agree on what "lag" and "pending" mean.
import type { Cluster, Redis } from 'ioredis';
import { defaultDeadLetterKey } from '../cluster/key-slot.js';
import { isCluster } from '../redis/connection.js';
import { StreamNotFoundError, GroupNotFoundError } from './inspect.errors.js';

/** One consumer of a group, from XINFO CONSUMERS. */
export interface ConsumerStatus {
  name: string;
  /** Entries delivered to it and not acknowledged yet. */
  pending: number;
  /** Milliseconds since it last did anything (read, claim, ack). */
  idle: number;
}

/** One consumer group of a stream, from XINFO GROUPS (and XINFO CONSUMERS when asked). */
export interface GroupStatus {
  name: string;
  /** How many consumers the group has. */
  consumerCount: number;
  /** Entries delivered to the group's consumers and not acknowledged yet. */
  pending: number;
  lastDeliveredId: string;
  /** Entries the group has read (Redis 7+; `null` on older Redis). */
  entriesRead: number | null;
  /**
   * Entries in the stream the group has not read yet. `null` when Redis cannot tell (older Redis, or entries were
   * deleted between the group's position and the stream's end).
   */
  lag: number | null;
  /** Filled when consumers were asked for. */
  consumers?: ConsumerStatus[];
}

/** One stream, from XINFO STREAM and XINFO GROUPS. */
export interface StreamStatus {
  /** The stream name without the key prefix. */
  name: string;
  /** The Redis key (with the key prefix). */
  key: string;
  length: number;
  lastGeneratedId: string;
  firstEntryId: string | null;
  lastEntryId: string | null;
  groups: GroupStatus[];
  /** Entries in the stream's dead-letter stream (0 when it has none). */
  deadLetters: number;
}

export interface StreamInspectorOptions {
  /** As given to the server and client. @defaultValue `''` */
  keyPrefix?: string;
  /** The dead-letter key of a stream key, as given to the server. @defaultValue `` `${key}:dead` `` */
  deadLetterStream?: (key: string) => string;
}

/** Reads the state of streams, groups and consumers, for operators, health checks and metrics. */
export class StreamInspector {
  readonly keyPrefix: string;
  private readonly deadLetterStream: (key: string) => string;

  private readonly redis: Redis;
  /** The masters to SCAN (a cluster's keys are spread over them), or the one Redis. */
  private readonly scanned: () => Redis[];

  /** `redis`: an ioredis `Redis`, or a `Cluster` (commands are routed by key; discovery scans every master). */
  constructor(redis: Redis | Cluster, options: StreamInspectorOptions = {}) {
    const cluster = isCluster(redis);
    this.redis = redis as Redis;
    this.scanned = () => (isCluster(redis) ? redis.nodes('master') : [redis]);
    this.keyPrefix = options.keyPrefix ?? '';
    this.deadLetterStream = options.deadLetterStream ?? ((key) => defaultDeadLetterKey(key, cluster));
  }

  /**
   * The names (without prefix) of the streams under the key prefix, found with SCAN … TYPE stream, sorted. Dead-letter
   * streams of streams that were found are left out: they show as `deadLetters` of their stream.
   */
  async discover(): Promise<string[]> {
    const keys = new Set<string>();
    for (const node of this.scanned()) await this.scan(node, keys);
    const deadKeys = new Set([...keys].map((key) => this.deadLetterStream(key)));
    return [...keys]
      .filter((key) => !deadKeys.has(key))
      .map((key) => key.slice(this.keyPrefix.length))
      .sort();
  }

  private async scan(node: Redis, keys: Set<string>): Promise<void> {
    let cursor = '0';
    do {
      const [next, found] = (await node.call(
        'SCAN',
        cursor,
        'MATCH',
        `${escapeGlob(this.keyPrefix)}*`,
        'COUNT',
        1000,
        'TYPE',
        'stream',
      )) as [string, string[]];
      cursor = next;
      for (const key of found) keys.add(key);
    } while (cursor !== '0');
  }

  /** The state of one stream (`name` without prefix) and its groups; with each group's consumers when asked. */
  async stream(name: string, withConsumers = false): Promise<StreamStatus> {
    const key = this.keyPrefix + name;
    let raw: unknown[];
    try {
      raw = (await this.redis.call('XINFO', 'STREAM', key)) as unknown[];
    } catch (err) {
      if (isNoSuchKey(err)) throw new StreamNotFoundError(name, key);
      throw err;
    }
    const info = toRecord(raw);
    const stream: StreamStatus = {
      name,
      key,
      length: Number(info.length ?? 0),
      lastGeneratedId: text(info['last-generated-id'], '0-0'),
      firstEntryId: entryId(info['first-entry']),
      lastEntryId: entryId(info['last-entry']),
      groups: [],
      deadLetters: await this.deadLetterCount(key),
    };
    stream.groups = await this.groups(stream);
    if (withConsumers) {
      for (const group of stream.groups) group.consumers = await this.consumers(name, group.name);
    }
    return stream;
  }

  /** The consumers of `group` on stream `name` (without prefix). */
  async consumers(name: string, group: string): Promise<ConsumerStatus[]> {
    const key = this.keyPrefix + name;
    let rows: unknown[][];
    try {
      rows = (await this.redis.call('XINFO', 'CONSUMERS', key, group)) as unknown[][];
    } catch (err) {
      if (isNoSuchKey(err)) throw new StreamNotFoundError(name, key);
      if (err instanceof Error && err.message.startsWith('NOGROUP')) throw new GroupNotFoundError(name, key, group);
      throw err;
    }
    return rows.map((row) => {
      const info = toRecord(row);
      return { name: String(info.name), pending: Number(info.pending ?? 0), idle: Number(info.idle ?? 0) };
    });
  }

  private async groups(stream: StreamStatus): Promise<GroupStatus[]> {
    const rows = (await this.redis.call('XINFO', 'GROUPS', stream.key)) as unknown[][];
    return rows.map((row) => {
      const info = toRecord(row);
      const lastDeliveredId = text(info['last-delivered-id'], '0-0');
      return {
        name: String(info.name),
        consumerCount: Number(info.consumers ?? 0),
        pending: Number(info.pending ?? 0),
        lastDeliveredId,
        entriesRead: nullableNumber(info['entries-read']),
        lag: nullableNumber(info.lag) ?? (stream.length === 0 || lastDeliveredId === stream.lastGeneratedId ? 0 : null),
      };
    });
  }

  private async deadLetterCount(key: string): Promise<number> {
    // XLEN of a missing key is 0, which is what we want; a key of another type is an error worth seeing.
    return this.redis.xlen(this.deadLetterStream(key));
  }
}

function toRecord(flat: unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) record[String(flat[i])] = flat[i + 1];
  return record;
}

function text(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function entryId(entry: unknown): string | null {
  return Array.isArray(entry) && typeof entry[0] === 'string' ? entry[0] : null;
}

function nullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function isNoSuchKey(err: unknown): boolean {
  return err instanceof Error && /no such key/i.test(err.message);
}

/** Escapes glob characters so a key prefix like `app[1]:` matches itself only. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
