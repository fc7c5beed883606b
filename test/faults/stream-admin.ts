// What an operator does to the stream during a run: destroy a consumer group, and trim the stream (either only what
// every group has acknowledged, or to a length that drops entries nobody has handled yet).
import type { Redis } from 'ioredis';
import { compareIds } from './stream-ids.js';

/** A field of a flat XINFO reply (`[name, value, name, value…]`). */
export function field(flat: unknown[], name: string): unknown {
  const i = flat.indexOf(name);
  return i < 0 ? undefined : flat[i + 1];
}

/** XGROUP DESTROY in one MULTI with a read of the stream's last id, so entries after that id are the new history's. */
export async function destroyGroup(admin: Redis, key: string, group: string): Promise<string> {
  const replies = await admin.multi().xinfo('STREAM', key).xgroup('DESTROY', key, group).exec();
  const [infoErr, info] = replies![0];
  if (infoErr) throw infoErr;
  return String(field(info as unknown[], 'last-generated-id'));
}

/** The lowest id that some group has not acknowledged or not yet delivered: every entry below it is done everywhere. */
async function lowestOpenId(admin: Redis, key: string): Promise<string | undefined> {
  const groups = (await admin.call('XINFO', 'GROUPS', key)) as unknown[][];
  let lowest: string | undefined;
  for (const row of groups) {
    const name = String(field(row, 'name'));
    const summary = (await admin.xpending(key, name)) as [number, string | null, ...unknown[]];
    const candidates = [String(field(row, 'last-delivered-id')), ...(summary[1] ? [summary[1]] : [])];
    for (const id of candidates) if (lowest === undefined || compareIds(id, lowest) < 0) lowest = id;
  }
  return lowest;
}

/**
 * `pick` < 0.6: XTRIM MINID below every group's oldest open entry (drops only what every group acknowledged, though
 * a broadcast reader may not have seen it yet); otherwise XTRIM MAXLEN 0–49, which drops entries nobody handled.
 */
export async function trim(admin: Redis, key: string, pick: number): Promise<string> {
  if (pick < 0.6) {
    const minId = await lowestOpenId(admin, key);
    if (minId === undefined) return 'no groups: nothing trimmed';
    const n = await admin.xtrim(key, 'MINID', minId);
    return `MINID ${minId}: ${n} trimmed`;
  }
  const maxLen = Math.floor(((pick - 0.6) / 0.4) * 50);
  const n = await admin.xtrim(key, 'MAXLEN', maxLen);
  return `MAXLEN ${maxLen}: ${n} trimmed`;
}
