// Reads what Redis knows about a stream and its groups (XINFO STREAM / GROUPS / CONSUMERS) into plain objects, for
// /health and the dashboard. On a Redis Cluster, `redis` is an ioredis `Cluster`: each command goes to its key's node.
import type { Cluster, Redis } from 'ioredis';
import { type KeySpace, keys } from './redis-keys.js';

export interface ConsumerInfo {
  name: string;
  /** Entries delivered to this consumer and not acknowledged yet. */
  pending: number;
  /** Milliseconds since this consumer last read or claimed. */
  idle: number;
}

export interface GroupInfo {
  name: string;
  consumers: number;
  /** Delivered, not acknowledged. */
  pending: number;
  /** Entries not yet delivered to the group; null when Redis can't tell (after deletions). */
  lag: number | null;
  /** Entries delivered to the group so far. */
  entriesRead: number | null;
  lastDeliveredId: string;
}

export interface StreamInfo {
  stream: string;
  key: string;
  exists: boolean;
  length: number;
  lastGeneratedId: string | null;
  /** The oldest entry still in the stream (null when empty): where the dashboard's timeline starts. */
  firstEntryId: string | null;
  groups: (GroupInfo & { consumerList: ConsumerInfo[] })[];
  deadLetters: number;
}

/** XINFO GROUPS of `key`; an empty list when the stream does not exist. */
export async function readGroups(redis: Redis | Cluster, key: string): Promise<GroupInfo[]> {
  let rows: unknown[];
  try {
    rows = (await redis.call('XINFO', 'GROUPS', key)) as unknown[];
  } catch (err) {
    if (isNoSuchKey(err)) return [];
    throw err;
  }
  return rows.map((row) => {
    const info = pairs(row);
    return {
      name: String(info.name),
      consumers: Number(info.consumers),
      pending: Number(info.pending),
      lag: nullableNumber(info.lag),
      entriesRead: nullableNumber(info['entries-read']),
      lastDeliveredId: String(info['last-delivered-id']),
    };
  });
}

export async function readConsumers(redis: Redis | Cluster, key: string, group: string): Promise<ConsumerInfo[]> {
  const rows = (await redis.call('XINFO', 'CONSUMERS', key, group)) as unknown[];
  return rows.map((row) => {
    const info = pairs(row);
    return { name: String(info.name), pending: Number(info.pending), idle: Number(info.idle) };
  });
}

/** Length, groups with their consumers, and dead letters of `stream` (a name without prefix). */
export async function readStreamInfo(redis: Redis | Cluster, space: KeySpace, stream: string): Promise<StreamInfo> {
  const key = space.prefix + stream;
  const [length, groups, deadLetters] = await Promise.all([
    redis.xlen(key),
    readGroups(redis, key),
    redis.xlen(keys.deadLetters(space, stream)),
  ]);
  let lastGeneratedId: string | null = null;
  let firstEntryId: string | null = null;
  try {
    const info = pairs(await redis.call('XINFO', 'STREAM', key));
    lastGeneratedId = String(info['last-generated-id']);
    const first = info['first-entry'];
    firstEntryId = Array.isArray(first) && typeof first[0] === 'string' ? first[0] : null;
  } catch (err) {
    if (!isNoSuchKey(err)) throw err;
  }
  const withConsumers = await Promise.all(
    groups.map(async (group) => ({ ...group, consumerList: await readConsumers(redis, key, group.name) })),
  );
  return {
    stream,
    key,
    exists: lastGeneratedId !== null,
    length,
    lastGeneratedId,
    firstEntryId,
    groups: withConsumers,
    deadLetters,
  };
}

function pairs(row: unknown): Record<string, unknown> {
  const list = row as unknown[];
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[String(list[i])] = list[i + 1];
  return out;
}

function nullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function isNoSuchKey(err: unknown): boolean {
  return err instanceof Error && /no such key/i.test(err.message);
}
