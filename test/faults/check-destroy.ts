// After an operator's XGROUP DESTROY, the group is recreated by the first reader that gets NOGROUP, at the last id it
// knows was delivered (or from 0 if it knows nothing). So entries at or below what every live reader of the group had
// already been given, and that had succeeded well before the destroy and were no longer pending, must not run again:
// replaying them is replaying acknowledged history. (One still pending had lost its ack, to a failover for instance:
// its holder gets its record back and runs it again, at least once.) The suite holds every worker slot from the destroy until the group is back, so the reader
// that recreates it is one of the processes alive at the destroy.
import type { Verdict } from './check-delivery.js';
import type { Evidence } from './evidence.js';
import { compareIds } from './stream-ids.js';

/** An ack is sent within a tick of the handler's end; 2 s leaves room for a slow machine and latency. */
const ACKED_AFTER_MS = 2000;

/** The lowest last id the live readers had been given before `at`, or undefined if one of them had been given none. */
function lowestKnown(e: Evidence, group: string, at: number): string | undefined {
  const alive = e.incarnations.filter((i) => i.startedAt < at && (i.exitedAt ?? Infinity) > at);
  let known: string | undefined;
  for (const p of alive) {
    const mine = e.log.runs.filter((r) => r.group === group && r.pid === p.pid && r.start < at).map((r) => r.id);
    if (mine.length === 0) return undefined;
    const last = mine.reduce((a, b) => (compareIds(a, b) >= 0 ? a : b));
    if (known === undefined || compareIds(last, known) < 0) known = last;
  }
  return known;
}

/**
 * A run that ended while Redis was down, or shortly before a restart (AOF fsyncs once a second), may have lost its ack:
 * running it again is at-least-once, not the destroy's replay.
 */
function ackMayBeLost(e: Evidence, end: number): boolean {
  return e.faults.some((f) => f.kind === 'restart' && end > f.start - ACKED_AFTER_MS - 1000 && end < f.end);
}

export function checkReplayAfterDestroy(e: Evidence, v: Verdict): void {
  for (const f of e.faults.filter((x) => x.kind === 'destroy' && x.lastId && !x.error)) {
    const group = f.detail.split(' ')[0];
    const known = lowestKnown(e, group, f.start);
    if (known === undefined) {
      v.stats['destroys-unjudged']++; // a reader that knows nothing may recreate the group from 0
      continue;
    }
    const pending = new Set(f.pendingAtDestroy);
    const done = new Set(
      e.log.runs
        .filter(
          (r) =>
            r.group === group &&
            r.ok &&
            r.end! < f.start - ACKED_AFTER_MS &&
            compareIds(r.id, known) <= 0 &&
            !ackMayBeLost(e, r.end!),
        )
        .map((r) => r.id)
        .filter((id) => !pending.has(id)),
    );
    const again = e.log.runs.filter((r) => r.group === group && r.start > f.start && done.has(r.id));
    const replayed = new Set(again.map((r) => r.id));
    v.stats['replayed-after-destroy'] += replayed.size;
    if (replayed.size > 0) {
      v.violations.push(
        `[replay] ${group}: after XGROUP DESTROY, ${replayed.size} entries acknowledged before it and at or below ${known} ` +
          `(the lowest last id a live reader had been given) ran again, e.g. ${[...replayed].slice(0, 3).join(', ')}`,
      );
    }
  }
}
