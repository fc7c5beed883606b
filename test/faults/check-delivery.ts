// The delivery promise, per group and entry: at least one successful run or a dead letter with its reason; effects
// applied exactly once (by a successful run that was not overtaken, while frozen or after a failover); nothing
// pending at the end.
// What a fault legitimately excuses is counted, not hidden: entries trimmed before any success, the effects of
// entries from before an XGROUP DESTROY (the recreated group starts a new history, see docs/chaos.md), and the effects
// of an entry trimmed before its ack: any XAUTOCLAIM drops a deleted entry's pending record at once, and without one
// the effects script applies nothing (so that a resent script can't apply them twice). On a cluster, entries whose
// emit failed may be gone after a failover (the old master had them, no replica did); completed emits may not.
import { type Evidence, whyGone } from './evidence.js';
import { runsByEntry } from './event-log.js';
import { compareIds } from './stream-ids.js';

export interface Verdict {
  violations: string[];
  /** Counters for the seed's summary line. */
  stats: Record<string, number>;
}

export function checkDelivery(e: Evidence, overtaken: Set<string>, v: Verdict): void {
  const runs = runsByEntry(e.log.runs);
  const universe = new Set(e.universe);
  for (const { name: group } of e.s.groups) {
    const destroys = e.faults.filter((f) => f.kind === 'destroy' && f.detail.startsWith(`${group} `) && f.lastId);
    const lastDestroyId = destroys.length > 0 ? destroys[destroys.length - 1].lastId! : undefined;
    const effects = e.effects.get(group)!;
    const by = e.appliedBy.get(group)!;
    for (const id of e.universe) {
      const mine = runs.get(`${group} ${id}`) ?? [];
      const ok = mine.some((r) => r.ok);
      const reason = e.dead.get(group)!.get(id);
      if (!ok && reason === undefined) {
        const gone = e.inStream.has(id) ? undefined : whyGone(e, id);
        if (gone === 'trim') v.stats['trimmed-unhandled']++;
        else if (gone === 'failover') v.stats['lost-unconfirmed']++;
        else if (lastDestroyId !== undefined && compareIds(id, lastDestroyId) <= 0) v.stats['lost-to-destroy']++;
        else v.violations.push(`[lost] ${group}: entry ${id} never succeeded and is not in the dead-letter stream`);
      }
      if (reason !== undefined) {
        v.stats['dead-lettered']++;
        if (!reason) v.violations.push(`[dead-letter] ${group}: entry ${id} was dead-lettered without a reason`);
      }
      const applied = Number(effects[id] ?? 0);
      if (applied > 1 + destroys.length) {
        v.violations.push(
          `[effects] ${group}: the effects of ${id} were applied ${applied} times (${destroys.length} destroys)`,
        );
      }
      if (applied > 0) {
        const token = by[id];
        if (!mine.some((r) => r.token === token && r.ok)) {
          v.violations.push(
            `[effects] ${group}: the effects of ${id} were applied by run ${token}, which did not succeed`,
          );
        }
        // A destroy during the overtaken run starts a new history, in which its reassertion may own the entry.
        const run = mine.find((r) => r.token === token);
        const destroyedDuring = destroys.some((f) => run && f.start >= run.start && f.start <= (run.end ?? Infinity));
        // Nobody else's run succeeded: the overtaker died, and this consumer's own claim gave the entry back to it.
        const reclaimed =
          run &&
          !mine.some((r) => r.ok && r.consumer !== run.consumer) &&
          mine.some((r) => r.consumer === run.consumer && r.start > run.start);
        if (overtaken.has(token) && destroyedDuring) v.stats['effects-after-destroy']++;
        else if (overtaken.has(token) && reclaimed) v.stats['effects-after-reclaim']++;
        else if (overtaken.has(token)) {
          v.violations.push(
            `[effects] ${group}: run ${token} of ${id} applied its effects though it was overtaken (frozen, or its delivery lost in a failover)`,
          );
        }
      }
      if (ok && reason === undefined && applied === 0) {
        const gone = e.inStream.has(id) ? undefined : whyGone(e, id);
        if (lastDestroyId !== undefined && compareIds(id, lastDestroyId) <= 0) v.stats['effects-lost-to-destroy']++;
        else if (gone === 'trim') v.stats['effects-lost-to-trim']++;
        else if (gone === 'failover') v.stats['lost-unconfirmed']++;
        else {
          const where = e.inStream.has(id) ? '' : ' (and it is gone from the stream, though no trim removed it)';
          v.violations.push(`[effects] ${group}: entry ${id} succeeded but its effects were never applied${where}`);
        }
      }
    }
    for (const id of Object.keys(effects)) {
      if (!universe.has(id))
        v.violations.push(`[effects] ${group}: effects recorded for ${id}, which was never in the stream`);
    }
    const pending = e.pending.get(group);
    if (pending === undefined) v.violations.push(`[pending] ${group}: the group does not exist at the end`);
    else if (pending > 0) v.violations.push(`[pending] ${group}: ${pending} entries still pending at the end`);
  }
}

/**
 * Completed emits are kept: every id the producer got back is still in the stream at the end, unless a trim removed
 * it. On one redis-server `appendfsync always` promises that; on a cluster, the client's `durability` (a replica
 * confirmed the entry before the emit completed) promises it across a failover.
 */
export function checkEmitsKept(e: Evidence, v: Verdict): void {
  const lost = [...e.produced].filter((id) => id && !e.inStream.has(id) && whyGone(e, id) !== 'trim');
  if (lost.length > 0) {
    v.violations.push(
      `[emit-lost] ${lost.length} completed emits are gone from the stream, and no trim removed them, e.g. ${lost.slice(0, 3).join(', ')}`,
    );
  }
}
