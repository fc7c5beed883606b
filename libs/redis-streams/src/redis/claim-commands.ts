// How a consumer takes entries and keeps them (see claim-scripts.ts): typed wrappers and reply parsing.
import type { Redis } from 'ioredis';
import { CLAIM_ABANDONED, CLAIM_OWN, READ_OWN_PENDING, REASSERT_HELD, REFRESH_OWNED } from './claim-scripts.js';

/** An entry taken by a claim, with its delivery count in the group after the claim; `fields` null: it was deleted. */
export interface ClaimedEntry {
  id: string;
  fields: string[] | null;
  deliveries: number;
}

type Row = [id: string, fields: string[] | false | null, count: number];

function toEntries(rows: Row[]): ClaimedEntry[] {
  return rows.map(([id, fields, count]) => ({ id, fields: fields || null, deliveries: Number(count) }));
}

/** What a refresh found out about the entries held here. */
export interface RefreshResult {
  /** Another consumer's now: it claimed them. */
  lost: string[];
  /** Pending with nobody: acknowledged, or the group lost its pending list (it was destroyed and recreated). */
  orphaned: string[];
  /** Still this consumer's, but deleted from the stream (XDEL or trimming) while held. */
  deleted: string[];
}

/** Keeps this consumer's held entries from being claimed (resets their idle time); see `refresh-owned-1`. */
export async function refreshOwned(
  redis: Redis,
  stream: string,
  group: string,
  consumer: string,
  ids: string[],
): Promise<RefreshResult> {
  const [lost, deleted, orphaned] = await REFRESH_OWNED.run<[string[], string[], string[]]>(
    redis,
    [stream],
    [group, consumer, ...ids],
  );
  return { lost, deleted, orphaned };
}

/**
 * Takes this consumer's own pending entries for another run, raising their delivery count by one, or setting it to
 * `setCount` ('keep': as it is, for entries whose delivery never reached this consumer); ids another consumer owns
 * now are left out of the result. See `claim-own-1`.
 */
export async function claimOwn(
  redis: Redis,
  stream: string,
  group: string,
  consumer: string,
  ids: string[],
  setCount?: number | 'keep',
): Promise<ClaimedEntry[]> {
  const args = [group, consumer, setCount === undefined ? '' : setCount, ...ids];
  return toEntries(await CLAIM_OWN.run<Row[]>(redis, [stream], args));
}

/** Result of one XAUTOCLAIM step. */
export interface AbandonedClaim {
  cursor: string;
  entries: ClaimedEntry[];
  /** Ids that were pending but whose entries no longer exist (trimmed); Redis has removed them from the PEL. */
  deleted: string[];
}

/** Takes over entries idle for at least `minIdleTime` ms from any consumer of the group; see `claim-abandoned-1`. */
export async function claimAbandoned(
  redis: Redis,
  stream: string,
  group: string,
  consumer: string,
  minIdleTime: number,
  cursor: string,
  count: number,
): Promise<AbandonedClaim> {
  const [next, rows, deleted] = await CLAIM_ABANDONED.run<[string, Row[], string[]]>(
    redis,
    [stream],
    [group, consumer, minIdleTime, cursor, count],
  );
  return { cursor: next, entries: toEntries(rows), deleted };
}

/** This consumer's own pending entries after `after`, re-read (their counts raised); see `read-own-pending-1`. */
export async function readOwnPending(
  redis: Redis,
  stream: string,
  group: string,
  consumer: string,
  after: string,
  count: number,
): Promise<ClaimedEntry[]> {
  return toEntries(await READ_OWN_PENDING.run<Row[]>(redis, [stream], [group, consumer, after, count]));
}

/** Gives back pending records to held entries that have none (the group was recreated); see `reassert-held-1`. */
export function reassertHeld(
  redis: Redis,
  stream: string,
  group: string,
  consumer: string,
  ids: string[],
): Promise<number> {
  return REASSERT_HELD.run<number>(redis, [stream], [group, consumer, ...ids]);
}

/** The ids pending with `consumer` in the group (at most `count`, oldest first, from `from`: `(id` for after one). */
export async function pendingIds(
  redis: Redis,
  stream: string,
  group: string,
  consumer: string,
  count: number,
  from = '-',
): Promise<string[]> {
  const rows = (await redis.call('XPENDING', stream, group, from, '+', count, consumer)) as [string][];
  return rows.map((row) => row[0]);
}
