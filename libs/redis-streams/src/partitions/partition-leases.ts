// The Redis side of partition ownership: one lease key per partition and group (`{<partition key>}:lease:<group>`,
// holding the owner's token `<generation>:<consumer>`, expiring unless renewed), a generation counter next to it
// (`{<partition key>}:generation:<group>`, raised by each acquisition), and one sorted set of the group's live members
// per partitioned stream (`<stream key>:members:<group>`, scored by when each member's heartbeat expires). The lease and
// the counter share the partition's slot (a hash tag of its whole name), so a script can check the lease while it reads
// the partition (`fenced-read.ts`); the members' set is touched alone.
import type { Redis } from 'ioredis';
import { sameSlotKey } from '../cluster/key-slot.js';
import { LuaScript } from '../redis/lua-script.js';
import { isNoGroup } from '../redis/stream-commands.js';

export function leaseKey(partitionKey: string, group: string): string {
  return sameSlotKey(partitionKey, `:lease:${group}`);
}

function generationKey(partitionKey: string, group: string): string {
  return sameSlotKey(partitionKey, `:generation:${group}`);
}

/** Who holds a lease (its value), and since which acquisition of the partition. */
export function leaseHolder(token: string | null): { consumer: string; generation: number } | null {
  const match = token === null ? null : /^(\d+):(.*)$/s.exec(token);
  return match ? { generation: Number(match[1]), consumer: match[2] } : null;
}

/**
 * acquire-lease-2: takes a free lease for `owner` under the next generation of the partition.
 * Input: KEYS[1] lease, KEYS[2] generation counter; ARGV[1] owner, ARGV[2] lease time in ms.
 * Output: the holder's token `<generation>:<owner>`, or false when the lease is held.
 */
const ACQUIRE_LEASE = new LuaScript(
  'acquire-lease',
  2,
  `if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
return token
`,
);

export function membersKey(streamKey: string, group: string): string {
  return `${streamKey}:members:${group}`;
}

/**
 * renew-lease-1: pushes a lease's expiry back only while the holder of `token` holds it.
 * Input: KEYS[1] lease; ARGV[1] token, ARGV[2] lease time in ms. Output: 1 when renewed, 0 when lost.
 */
const RENEW_LEASE = new LuaScript(
  'renew-lease',
  1,
  `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
`,
);

/**
 * release-lease-1: deletes a lease only while the holder of `token` holds it.
 * Input: KEYS[1] lease; ARGV[1] token. Output: 1 when released, 0 when it was not held.
 */
const RELEASE_LEASE = new LuaScript(
  'release-lease',
  1,
  `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`,
);

/**
 * heartbeat-1: records `member` as live until now + lease time (Redis's clock), drops members whose heartbeat expired,
 * and returns the live members (in no particular order: `partitionsOf` sorts them).
 * Input: KEYS[1] members; ARGV[1] member, ARGV[2] lease time in ms. Output: the live members' names.
 */
const HEARTBEAT = new LuaScript(
  'heartbeat',
  1,
  `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], 10 * tonumber(ARGV[2]))
return redis.call('ZRANGE', KEYS[1], 0, -1)
`,
);

/** Takes the partition's lease if it is free; returns the token that fences this holder's reads, or null. */
export async function acquireLease(
  redis: Redis,
  partitionKey: string,
  group: string,
  owner: string,
  ttl: number,
): Promise<string | null> {
  const keys = [leaseKey(partitionKey, group), generationKey(partitionKey, group)];
  return (await ACQUIRE_LEASE.run<string | null>(redis, keys, [owner, ttl])) ?? null;
}

export async function renewLease(redis: Redis, lease: string, token: string, ttl: number): Promise<boolean> {
  return (await RENEW_LEASE.run<number>(redis, [lease], [token, ttl])) === 1;
}

export async function releaseLease(redis: Redis, lease: string, token: string): Promise<void> {
  await RELEASE_LEASE.run<number>(redis, [lease], [token]);
}

export async function removeMember(redis: Redis, members: string, member: string): Promise<void> {
  await redis.zrem(members, member);
}

export function heartbeat(redis: Redis, members: string, member: string, ttl: number): Promise<string[]> {
  return HEARTBEAT.run<string[]>(redis, [members], [member, ttl]);
}

/**
 * take-over-2: moves the entries of a partition pending with other consumers of the group to the lease's holder
 * (XCLAIM … JUSTID, min idle 0: their delivery counts kept), while the lease still holds `token`.
 * Input: KEYS[1] partition stream, KEYS[2] its lease; ARGV[1] token, ARGV[2] group, ARGV[3] owner, ARGV[4] the id to
 *        scan from (`-`, or `(id`), ARGV[5] how many pending records to scan.
 * Output: false when the lease is not this holder's; else {taken, id to go on from, or false once the scan is done}.
 */
const TAKE_OVER = new LuaScript(
  'take-over',
  2,
  `if redis.call('GET', KEYS[2]) ~= ARGV[1] then return false end
local rows = redis.call('XPENDING', KEYS[1], ARGV[2], ARGV[4], '+', tonumber(ARGV[5]))
local claim = {KEYS[1], ARGV[2], ARGV[3], 0}
for _, row in ipairs(rows) do
  if row[2] ~= ARGV[3] then claim[#claim + 1] = row[1] end
end
local taken = #claim - 4
if taken > 0 then
  claim[#claim + 1] = 'JUSTID'
  redis.call('XCLAIM', unpack(claim))
end
if #rows < tonumber(ARGV[5]) then return {taken, false} end
return {taken, '(' .. rows[#rows][1]}
`,
);

/** Pending records scanned by one step of a takeover. */
const TAKE_OVER_BATCH = 1000;

/**
 * Moves every entry of `partitionKey` pending with another consumer of `group` to `owner`, while `owner` holds the
 * partition's lease under `token` (a holder paused past its lease takes nothing from the next one): the previous
 * owner's lease is gone, so no wait for idleness. The owner's reader then handles them first, in id order, before new
 * entries. Returns how many were taken over, or 'fenced' when the lease is no longer this holder's.
 */
export async function takeOverPending(
  redis: Redis,
  partitionKey: string,
  lease: string,
  token: string,
  group: string,
  owner: string,
): Promise<number | 'fenced'> {
  let taken = 0;
  let from: string | false = '-';
  while (from !== false) {
    let reply: [number, string | null] | null;
    try {
      reply = await TAKE_OVER.run<[number, string | null] | null>(
        redis,
        [partitionKey, lease],
        [token, group, owner, from, TAKE_OVER_BATCH],
      );
    } catch (err) {
      if (isNoGroup(err)) return taken; // a new group: nothing pending anywhere
      throw err;
    }
    if (reply === null) return 'fenced';
    taken += reply[0];
    from = reply[1] ?? false;
  }
  return taken;
}
