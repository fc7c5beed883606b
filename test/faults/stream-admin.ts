// What an operator does to the stream during a run: destroy a consumer group, and trim the stream (either only what
// every group has acknowledged, or to a length that drops entries nobody has handled yet).
import type { Admin } from './redis-under-test.js';
import { compareIds } from './stream-ids.js';

/** A field of a flat XINFO reply (`[name, value, name, value…]`). */
export function field(flat: unknown[], name: string): unknown {
  const i = flat.indexOf(name);
  return i < 0 ? undefined : flat[i + 1];
}

/**
 * XGROUP DESTROY in one MULTI with a read of the stream's last id, so entries after that id are the new history's,
 * and of the group's pending ids: entries that were delivered but not acknowledged when it went.
 */
export async function destroyGroup(
  admin: Admin,
  key: string,
  group: string,
): Promise<{ lastId: string; pendingAtDestroy: string[] }> {
  const replies = await admin
    .multi()
    .xinfo('STREAM', key)
    .xpending(key, group, '-', '+', 1_000_000)
    .xgroup('DESTROY', key, group)
    .exec();
  const failed = replies!.find(([err]) => err)?.[0];
  if (failed) throw failed;
  const [[, info], [, pending]] = replies!;
  const pendingAtDestroy = (pending as [string, ...unknown[]][]).map(([id]) => id);
  return { lastId: String(field(info as unknown[], 'last-generated-id')), pendingAtDestroy };
}

/** The lowest id that some group has not acknowledged or not yet delivered: every entry below it is done everywhere. */
async function lowestOpenId(admin: Admin, key: string): Promise<string | undefined> {
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
 * Also says which ids it removed, read in the same MULTI: the checks excuse exactly these as trimmed (an entry gone
 * for another reason, a failover, is not excused by a trim that came later).
 */
export async function trim(admin: Admin, key: string, pick: number): Promise<{ detail: string; trimmed?: string[] }> {
  let detail: string;
  let args: [string, string | number];
  if (pick < 0.6) {
    const minId = await lowestOpenId(admin, key);
    if (minId === undefined) return { detail: 'no groups: nothing trimmed' };
    args = ['MINID', minId];
    detail = `MINID ${minId}`;
  } else {
    const maxLen = Math.floor(((pick - 0.6) / 0.4) * 50);
    args = ['MAXLEN', maxLen];
    detail = `MAXLEN ${maxLen}`;
  }
  const replies = await admin
    .multi()
    .xrange(key, '-', '+')
    .call('XTRIM', key, ...args)
    .xrange(key, '-', '+', 'COUNT', 1)
    .exec();
  const failed = replies!.find(([err]) => err)?.[0];
  if (failed) throw failed;
  const [before, n, after] = replies!.map(([, reply]) => reply) as [[string, unknown][], number, [string, unknown][]];
  // Trimming removes the head of the stream: everything below the first entry it kept.
  const kept = after[0]?.[0];
  const trimmed = before.map(([id]) => id).filter((id) => kept === undefined || compareIds(id, kept) < 0);
  return { detail: `${detail}: ${n} trimmed`, trimmed };
}
