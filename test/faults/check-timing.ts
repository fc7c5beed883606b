// The checks about time: no two runs of one entry overlap within a group unless the first runner was frozen past
// minIdleTime, its event loop stalled for half of it, the group was destroyed during its run, or a failover lost its
// delivery; every close() returned within shutdownTimeout + 5 s; no consumer held more pending entries than the
// documented bound; every broadcast reader saw every entry added while it ran; every fault could be applied.
import { runsByEntry } from './event-log.js';
import type { Evidence } from './evidence.js';
import type { Verdict } from './check-delivery.js';
import { idTime } from './stream-ids.js';

/** How long before its handler starts an entry may have been delivered (it waited in the work queue). */
const DELIVERY_LEAD_MS = 1000;

/** Checks overlaps and returns the tokens of runs overtaken (frozen, or their delivery lost): they must not apply effects. */
export function checkOverlaps(e: Evidence, v: Verdict): Set<string> {
  const overtaken = new Set<string>();
  const exits = new Map(e.incarnations.map((i) => [i.pid, i.exitedAt ?? e.finalStopAt]));
  const freezes = e.faults.filter((f) => f.kind === 'freeze' && f.end - f.start >= e.s.minIdleTime);
  const destroys = e.faults.filter((f) => f.kind === 'destroy' && f.lastId);
  const failovers = e.faults.filter((f) => f.kind === 'failover');
  const redisFreezes = e.faults.filter((f) => f.kind === 'redis-freeze');
  for (const runs of runsByEntry(e.log.runs).values()) {
    runs.sort((a, b) => a.start - b.start);
    const bad: string[] = [];
    for (const [i, first] of runs.entries()) {
      const end = first.end ?? exits.get(first.pid) ?? Infinity;
      for (const second of runs.slice(i + 1)) {
        if (second.start >= end) continue;
        if (freezes.some((f) => f.pid === first.pid && f.start < end && f.end > first.start)) {
          overtaken.add(first.token);
          v.stats['overlaps-after-freeze']++;
          continue;
        }
        // The second runner was frozen past minIdleTime with the entry already delivered to it (its read's reply, or
        // its queue), and ran it on waking up, after another consumer had claimed it meanwhile.
        if (
          freezes.some((f) => f.pid === second.pid && f.end <= second.start && second.start - f.end <= DELIVERY_LEAD_MS)
        ) {
          v.stats['overlaps-after-freeze']++;
          continue;
        }
        // Refreshes run every quarter of minIdleTime: an event loop stalled for half of it (a starved CPU) may let
        // the entry look idle for minIdleTime, as a freeze would.
        const stalls = e.log.processes.get(first.pid)?.stalls ?? [];
        if (stalls.some(([from, to]) => to - from >= e.s.minIdleTime / 2 && from < end && to > first.start)) {
          overtaken.add(first.token);
          v.stats['overlaps-after-stall']++;
          continue;
        }
        // Redis frozen (a partitioned seed's redis-freeze, which hits the plain stream too): its clock went on, so
        // once thawed every entry delivered before looks idle for as long as the freeze, and is claimed.
        if (redisFreezes.some((f) => f.start < end && f.end > first.start - DELIVERY_LEAD_MS)) {
          overtaken.add(first.token);
          v.stats['overlaps-after-redis-freeze']++;
          continue;
        }
        // XGROUP DESTROY takes the pending list, and so every runner's ownership, with it; the first run's entry may
        // have been delivered (and so been lost to the destroy) a little before the handler started.
        const since = first.start - DELIVERY_LEAD_MS;
        if (destroys.some((f) => f.detail.startsWith(`${first.group} `) && f.start >= since && f.start < end)) {
          v.stats['overlaps-after-destroy']++;
          continue;
        }
        // A claim counts a delivery, so a second run whose delivery count is not above the first's was delivered by
        // a master that never heard of the first delivery: the killed master had it, its replica did not yet. The
        // first run's entry is no longer its own, so, like a frozen one, it must not apply effects.
        if (second.delivery <= first.delivery && failovers.some((f) => f.start < second.start && f.end > first.start)) {
          overtaken.add(first.token);
          v.stats['overlaps-after-failover']++;
          continue;
        }
        const who = first.pid === second.pid ? 'the same process' : second.consumer;
        bad.push(
          `${first.token} (${first.consumer}, ${first.start}..${end}) and ${second.token} (${who}, from ${second.start})`,
        );
      }
    }
    if (bad.length > 0) {
      v.violations.push(
        `[overlap] ${runs[0].group}: ${bad.length} pairs of runs of ${runs[0].id} overlap, no first runner frozen; ${bad[0]}`,
      );
    }
  }
  return overtaken;
}

export function checkCloses(e: Evidence, v: Verdict): void {
  const bound = e.s.shutdownTimeout + 5000;
  for (const p of e.log.processes.values()) {
    if (p.closeStart === undefined) continue;
    const took = (p.closeEnd ?? Infinity) - p.closeStart;
    v.stats['closes']++;
    v.stats['slowest-close-ms'] = Math.max(v.stats['slowest-close-ms'], Number.isFinite(took) ? took : -1);
    if (took > bound) {
      v.violations.push(
        `[close] close() of ${p.consumer} (pid ${p.pid}) ${p.closeEnd ? `took ${took} ms` : 'never returned'}; bound ${bound} ms`,
      );
    }
  }
}

/**
 * XPENDING per consumer counts what a reader holds (2 × count + concurrency, the README's bound) plus acks still on
 * the wire (up to concurrency). Samples taken while the network misbehaves (Redis restart, CLIENT KILL, latency
 * spike, XGROUP DESTROY) and for 2 × minIdleTime + 2 s after are not judged: a lost ack leaves an entry pending
 * until it is claimed, which the reader can't prevent.
 */
export function checkPendingBound(e: Evidence, v: Verdict): void {
  const noisy = e.faults.filter((f) =>
    ['restart', 'failover', 'reshard', 'client-kill', 'latency', 'destroy', 'redis-freeze'].includes(f.kind),
  );
  const grace = 2 * e.s.minIdleTime + 2000;
  const over = new Map<string, { samples: number; max: number; at: number; bound: number }>();
  for (const sample of e.samples) {
    const { concurrency } = e.s.groups.find((g) => g.name === sample.group)!;
    const bound = 2 * e.s.count + 2 * concurrency;
    const percent = Math.round((100 * sample.pending) / bound);
    v.stats['max-pending-per-bound%'] = Math.max(v.stats['max-pending-per-bound%'], percent);
    if (sample.pending <= bound) continue;
    if (noisy.some((f) => sample.at >= f.start && sample.at <= f.end + grace)) continue;
    const key = `${sample.group}: ${sample.consumer}`;
    const seen = over.get(key) ?? { samples: 0, max: 0, at: sample.at, bound };
    over.set(key, { ...seen, samples: seen.samples + 1, max: Math.max(seen.max, sample.pending) });
  }
  for (const [key, o] of over) {
    v.violations.push(
      `[pending-bound] ${key} had up to ${o.max} entries pending (bound ${o.bound}) in ${o.samples} samples from ${o.at}`,
    );
  }
}

/** How long a broadcast reader may take to see an entry: a read of up to `block` (1 s), a reconnect, a slow machine. */
const BROADCAST_GRACE_MS = 5000;

/**
 * A broadcast reader must see every entry added after it was ready: all of them if it was stopped last (after the
 * run settled); otherwise those added up to 5 s before its process was closed or killed, except while it was frozen
 * (and 5 s after). Entries read but not yet handled when close() began are not handed to handlers any more.
 */
export function checkBroadcast(e: Evidence, v: Verdict): void {
  const exits = new Map(e.incarnations.map((i) => [i.pid, i.exitedAt ?? e.finalStopAt]));
  for (const p of e.log.processes.values()) {
    if (!e.s.broadcast.includes(p.consumer) || p.readyAt === undefined) continue;
    const stoppedLast = (p.closeStart ?? 0) >= e.finalStopAt;
    const until = stoppedLast ? Infinity : (p.closeStart ?? exits.get(p.pid) ?? 0) - BROADCAST_GRACE_MS;
    const frozen = e.faults.filter((f) => f.kind === 'freeze' && f.pid === p.pid);
    const excused = (t: number): boolean => frozen.some((f) => t >= f.start && t <= f.end + BROADCAST_GRACE_MS);
    // Redis down or this process frozen: time in which the reader could not read.
    const blackouts = e.faults.filter(
      (f) => f.kind === 'restart' || f.kind === 'redis-freeze' || (f.kind === 'freeze' && f.pid === p.pid),
    );
    const end = stoppedLast ? Infinity : (p.closeStart ?? exits.get(p.pid) ?? 0);
    const couldRead = (t: number): boolean => readableTime(t, end, blackouts) >= BROADCAST_GRACE_MS;
    const unseen = e.universe.filter((id) => {
      const t = idTime(id);
      return t > p.readyAt! && t <= until && !excused(t) && !p.broadcast.has(id);
    });
    const missed = unseen.filter((id) => couldRead(idTime(id)));
    v.stats['broadcast-unreadable'] += unseen.length - missed.length;
    const trimmed = missed.filter((id) => !e.inStream.has(id));
    v.stats['broadcast-trimmed-unseen'] += trimmed.length;
    if (missed.length > trimmed.length) {
      const shown = missed.filter((id) => e.inStream.has(id)).slice(0, 5);
      v.violations.push(
        `[broadcast] reader of ${p.consumer} (pid ${p.pid}) missed ${missed.length - trimmed.length} entries, e.g. ${shown.join(', ')}`,
      );
    }
  }
}

/** How much of [from, to] lies outside every fault's [start, end]. */
function readableTime(from: number, to: number, faults: { start: number; end: number }[]): number {
  if (!Number.isFinite(to)) return Infinity;
  let readable = 0;
  let at = from;
  for (const f of [...faults].sort((a, b) => a.start - b.start)) {
    if (f.end <= at) continue;
    if (f.start >= to) break;
    readable += Math.max(0, f.start - at);
    at = Math.max(at, f.end);
  }
  return readable + Math.max(0, to - at);
}

export function checkFaultsApplied(e: Evidence, v: Verdict): void {
  for (const f of e.faults) {
    if (!f.error) continue;
    // An admin command that met a Redis restart is the suite's problem, not the transport's.
    // A failover or reshard that did not happen leaves the seed without what it claims to test.
    const transportFault =
      ['kill', 'close', 'freeze', 'failover', 'reshard'].includes(f.kind) ||
      (f.kind === 'destroy' && f.lastId !== undefined);
    if (transportFault) v.violations.push(`[fault] ${f.kind} at ${f.start}: ${f.error}`);
    else v.stats['faults-not-applied']++;
  }
}
