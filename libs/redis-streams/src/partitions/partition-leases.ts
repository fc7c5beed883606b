// The Redis side of partition ownership: one lease key per partition and group (`<partition key>:lease:<group>`,
// holding the owner's consumer name, expiring unless renewed) and one sorted set of the group's live members per
// partitioned stream (`<stream key>:members:<group>`, scored by when each member's heartbeat expires). Every command
// touches one key, so they work on a cluster whatever the slots.
import type { Redis } from 'ioredis';
import { LuaScript } from '../redis/lua-script.js';
import { isNoGroup } from '../redis/stream-commands.js';

export function leaseKey(partitionKey: string, group: string): string {
  return `${partitionKey}:lease:${group}`;
}

export function membersKey(streamKey: string, group: string): string {
  return `${streamKey}:members:${group}`;
}

/**
 * renew-lease-1: pushes a lease's expiry back only while `owner` holds it.
 * Input: KEYS[1] lease; ARGV[1] owner, ARGV[2] lease time in ms. Output: 1 when renewed, 0 when lost.
 */
const RENEW_LEASE = new LuaScript(
  'renew-lease',
  1,
  `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
`,
);

/**
 * release-lease-1: deletes a lease only while `owner` holds it.
 * Input: KEYS[1] lease; ARGV[1] owner. Output: 1 when released, 0 when it was not held.
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
 * and returns the live members, sorted.
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

export async function acquireLease(redis: Redis, lease: string, owner: string, ttl: number): Promise<boolean> {
  return (await redis.set(lease, owner, 'PX', ttl, 'NX')) === 'OK';
}

export async function renewLease(redis: Redis, lease: string, owner: string, ttl: number): Promise<boolean> {
  return (await RENEW_LEASE.run<number>(redis, [lease], [owner, ttl])) === 1;
}

export async function releaseLease(redis: Redis, lease: string, owner: string): Promise<void> {
  await RELEASE_LEASE.run<number>(redis, [lease], [owner]);
}

export async function removeMember(redis: Redis, members: string, member: string): Promise<void> {
  await redis.zrem(members, member);
}

export function heartbeat(redis: Redis, members: string, member: string, ttl: number): Promise<string[]> {
  return HEARTBEAT.run<string[]>(redis, [members], [member, ttl]);
}

/**
 * Moves every entry of `partitionKey` pending with another consumer of `group` to `owner` (XCLAIM … JUSTID, min idle
 * 0: the previous owner's lease is gone), so the new owner handles them first, in id order, before new entries.
 * Returns how many were taken over.
 */
export async function takeOverPending(
  redis: Redis,
  partitionKey: string,
  group: string,
  owner: string,
): Promise<number> {
  let taken = 0;
  let from = '-';
  for (;;) {
    let rows: [string, string][];
    try {
      rows = (await redis.call('XPENDING', partitionKey, group, from, '+', 1000)) as [string, string][];
    } catch (err) {
      if (isNoGroup(err)) return taken; // a new group: nothing pending anywhere
      throw err;
    }
    const others = rows.filter(([, consumer]) => consumer !== owner).map(([id]) => id);
    if (others.length > 0) {
      await redis.call('XCLAIM', partitionKey, group, owner, 0, ...others, 'JUSTID');
      taken += others.length;
    }
    if (rows.length < 1000) return taken;
    from = `(${rows[rows.length - 1][0]}`;
  }
}

/** The partitions `member` should own: an even share of `count` among the sorted live `members`. */
export function fairShare(count: number, members: string[], member: string): number {
  const index = members.indexOf(member);
  if (index < 0 || members.length === 0) return 0;
  const base = Math.floor(count / members.length);
  return base + (index < count % members.length ? 1 : 0);
}
