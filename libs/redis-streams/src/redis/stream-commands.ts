// The Redis Streams command sequences the transport relies on, each a small named function, and the parsing of their
// replies. Nothing else in the library sends stream commands directly.
import type { Redis } from 'ioredis';
import { sameSlotKey } from '../cluster/key-slot.js';
import { sendCorked } from './corked-send.js';
import {
  ACK_IN_ORDER,
  ACK_OWNED,
  ACK_WITH_EFFECTS,
  DEAD_LETTER,
  DELETE_IDLE_CONSUMER,
  RAISE_GROUP,
} from './scripts.js';

/** One entry as Redis returns it: its id and flat field/value list (`null` fields: the entry was trimmed or deleted). */
export type RawEntry = [id: string, fields: string[] | null];
/** Entries read from one stream. */
export type RawStreamBatch = [stream: string, entries: RawEntry[]];

export function isBusyGroup(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('BUSYGROUP');
}

export function isNoGroup(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOGROUP');
}

/** Creates the group (and the stream, MKSTREAM) at `startId`; an existing group is left as it is. Returns `created`. */
export async function ensureGroup(redis: Redis, stream: string, group: string, startId: string): Promise<boolean> {
  try {
    await redis.xgroup('CREATE', stream, group, startId, 'MKSTREAM');
    return true;
  } catch (err) {
    if (isBusyGroup(err)) return false;
    throw err;
  }
}

/** Moves the group's last-delivered id up to `id` if it is below (never down); see `raise-group-1`. */
export async function raiseGroup(redis: Redis, stream: string, group: string, id: string): Promise<boolean> {
  return (await RAISE_GROUP.run<number>(redis, [stream], [group, id])) === 1;
}

/** XREADGROUP over several streams at once; `ids` is `>` for new entries or an id to re-read this consumer's pending. */
export async function readGroup(
  redis: Redis,
  group: string,
  consumer: string,
  count: number,
  block: number | undefined,
  streams: readonly string[],
  ids: readonly string[],
): Promise<RawStreamBatch[] | null> {
  const args: (string | number)[] = ['GROUP', group, consumer, 'COUNT', count];
  if (block !== undefined) args.push('BLOCK', block);
  args.push('STREAMS', ...streams, ...ids);
  return (await redis.call('XREADGROUP', ...args)) as RawStreamBatch[] | null;
}

/** Plain XREAD (no group): every reader gets every entry after `ids`. */
export async function readStreams(
  redis: Redis,
  count: number,
  block: number,
  streams: readonly string[],
  ids: readonly string[],
): Promise<RawStreamBatch[] | null> {
  return (await redis.call('XREAD', 'COUNT', count, 'BLOCK', block, 'STREAMS', ...streams, ...ids)) as
    RawStreamBatch[] | null;
}

/** The id of the newest entry ever added to the stream (`0-0` for a missing or never-written stream). */
export async function lastGeneratedId(redis: Redis, stream: string): Promise<string> {
  try {
    const info = (await redis.call('XINFO', 'STREAM', stream)) as unknown[];
    for (let i = 0; i < info.length; i += 2) {
      if (info[i] === 'last-generated-id') return info[i + 1] as string;
    }
    return '0-0';
  } catch (err) {
    if (err instanceof Error && /no such key/i.test(err.message)) return '0-0';
    throw err;
  }
}

/** The group's last delivered id (`undefined` when the group or stream doesn't exist). */
export async function groupLastDeliveredId(redis: Redis, stream: string, group: string): Promise<string | undefined> {
  let rows: unknown[][];
  try {
    rows = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[][];
  } catch (err) {
    if (err instanceof Error && /no such key/i.test(err.message)) return undefined;
    throw err;
  }
  for (const row of rows) {
    const info: Record<string, unknown> = {};
    for (let i = 0; i < row.length; i += 2) info[row[i] as string] = row[i + 1];
    if (info.name === group) return String(info['last-delivered-id']);
  }
  return undefined;
}

/**
 * Acknowledges the ids that are still this consumer's (`ack-owned-1`); `inOrder` (a partition's): oldest first, and
 * only while each is the oldest entry pending in the group (`ack-in-order-1`). Returns how many were acknowledged.
 */
export function ackOwned(
  redis: Redis,
  stream: string,
  group: string,
  consumer: string,
  ids: string[],
  inOrder = false,
): Promise<number> {
  return (inOrder ? ACK_IN_ORDER : ACK_OWNED).run<number>(redis, [stream], [group, consumer, ...ids]);
}

/**
 * Runs a partition's ack-like scripts once on an id that can't be pending, so Redis knows them before they matter: a
 * script Redis doesn't know is sent again as EVAL after its NOSCRIPT, behind whatever was sent meanwhile, and a
 * partition's acks must reach Redis in the order they were sent.
 */
export async function loadInOrderScripts(redis: Redis, stream: string, group: string, consumer: string): Promise<void> {
  const none = '0-0';
  await Promise.all([
    ackOwned(redis, stream, group, consumer, [none], true),
    moveToDeadLetter(redis, stream, sameSlotKey(stream, ':never'), group, consumer, none, ['-', '-'], true),
    ackWithEffects(redis, stream, group, consumer, none, 0, [], true),
  ]);
}

/** Plain XACK, for entries whose ownership doesn't matter (trimmed, at-most-once, or too young to have been claimed). */
export function ack(redis: Redis, stream: string, group: string, ids: string[]): Promise<number> {
  return sendCorked<number>(redis, 'xack', [stream, group, ...ids]);
}

/**
 * Moves an owned entry to the dead-letter stream and acks it atomically (`inOrder`: only as the oldest entry pending in
 * the group). Returns the new id, or null if not owned (or not the oldest).
 */
export async function moveToDeadLetter(
  redis: Redis,
  stream: string,
  deadStream: string,
  group: string,
  consumer: string,
  id: string,
  fields: string[],
  inOrder = false,
): Promise<string | null> {
  const args = [group, consumer, id, inOrder ? '1' : '0', ...fields];
  return (await DEAD_LETTER.run<string | null>(redis, [stream, deadStream], args)) ?? null;
}

/** A Redis write a handler declares, applied with the entry's first acknowledgement. */
export interface RedisEffect {
  command: string;
  key: string;
  args: (string | number)[];
}

/**
 * What became of an ack with effects: applied with it, or not because the entry isn't pending, or is another's, or
 * (on a partition) an earlier entry of the partition is still pending.
 */
export type EffectsOutcome = 'applied' | 'not-pending' | 'not-owned' | 'out-of-order';

/** Acks an owned entry and applies `effects` only on its first acknowledgement in the group. */
export async function ackWithEffects(
  redis: Redis,
  stream: string,
  group: string,
  consumer: string,
  id: string,
  deliveries: number,
  effects: readonly RedisEffect[],
  inOrder = false,
): Promise<EffectsOutcome> {
  const keys = [stream];
  const args: (string | number)[] = [group, consumer, id, deliveries, inOrder ? '1' : '0', effects.length];
  for (const effect of effects) {
    let index = keys.indexOf(effect.key, 1);
    if (index === -1) index = keys.push(effect.key) - 1;
    args.push(effect.command, index + 1, effect.args.length, ...effect.args);
  }
  const outcome = await ACK_WITH_EFFECTS.run<number>(redis, keys, args);
  return outcome === 1 ? 'applied' : outcome === 0 ? 'not-pending' : outcome === -1 ? 'not-owned' : 'out-of-order';
}

/** Removes `consumer` from the group if it has nothing pending and was idle at least `minIdleTime` ms. */
export async function deleteIdleConsumer(
  redis: Redis,
  stream: string,
  group: string,
  consumer: string,
  minIdleTime: number,
): Promise<boolean> {
  return (await DELETE_IDLE_CONSUMER.run<number>(redis, [stream], [group, consumer, minIdleTime])) === 1;
}

/** The names of a group's consumers, with what they hold and how long they have been idle. */
export async function groupConsumers(
  redis: Redis,
  stream: string,
  group: string,
): Promise<{ name: string; pending: number; idle: number }[]> {
  const rows = (await redis.call('XINFO', 'CONSUMERS', stream, group)) as unknown[][];
  return rows.map((row) => {
    const info: Record<string, unknown> = {};
    for (let i = 0; i < row.length; i += 2) info[row[i] as string] = row[i + 1];
    return { name: String(info.name), pending: Number(info.pending), idle: Number(info.idle) };
  });
}

/** Orders two entry ids (`ms-seq`) as Redis does. */
export function compareIds(a: string, b: string): number {
  const [am, as] = splitId(a);
  const [bm, bs] = splitId(b);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}

function splitId(id: string): [bigint, bigint] {
  const dash = id.indexOf('-');
  return dash === -1 ? [BigInt(id), 0n] : [BigInt(id.slice(0, dash)), BigInt(id.slice(dash + 1))];
}

/** The Unix time in ms at which an auto-generated entry id was made. */
export function idTimestamp(id: string): number {
  const dash = id.indexOf('-');
  return Number(dash === -1 ? id : id.slice(0, dash));
}
