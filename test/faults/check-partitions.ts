// The checks of a partitioned seed (docs/chaos.md, "Partitioned streams"), on the instances' event logs, the leases
// sampled through the run and what the partitions hold at the end:
// - [p-lost]      every entry of every partition succeeded at least once or was dead-lettered; nothing is left pending.
// - [p-order]     per key, no entry's run starts before the key's previous entry (in its partition, by id) succeeded or
//                 was dead-lettered.
// - [p-overlap]   no two runs of one entry overlap.
// - [p-owner]     every partition is owned again (its lease held by a live instance) within 4 × the lease time of the
//                 last change (an instance started, ready, closing, exited, frozen or thawed; a fault began or ended).
// - [p-isolation] on a cluster, a master frozen or failed over moves only the leases of its own partitions.
// - [p-emit-lost] every resolved emit is in its key's partition at the end (durable emits on a cluster).
// - [p-route]     every entry is in the partition its key hashes to.
// What a fault makes impossible is excused precisely and counted (`p-…` stats), never hidden:
// - an entry lost to a failover before its emit resolved (the old master had it, no replica did) is neither owed a run
//   nor judged in its key's order;
// - two runs of one entry may overlap when the first runner was cut off from its lease while it ran: its process frozen
//   (SIGSTOP) or its event loop stalled for half the lease, Redis frozen or down (a restart) for a third of the lease
//   or more, or a failover of the partition's master that lost the lease or the delivery: "what no fence can undo".
//   A hand-back (an instance joining, or closing), a forced reset, a reshard, CLIENT KILL or latency excuse nothing.
// - a partition without an owner while no instance was live is not judged; lease isolation is not judged when the
//   cluster said CLUSTERDOWN (every master refusing commands) for two thirds of the lease or more.
import type { Verdict } from './check-delivery.js';
import type { HandlerRun } from './event-log.js';
import type { PartitionEvidence } from './partition-evidence.js';
import { partitionOfKey } from './partition-producer.js';
import { compareIds } from './stream-ids.js';

export const PARTITION_STATS = [
  'p-runs',
  'p-reruns',
  'p-dead-lettered',
  'p-emits-retried',
  'p-lost-unconfirmed',
  'p-skipped-by-reset',
  'p-overlaps-after-freeze',
  'p-overlaps-after-stall',
  'p-overlaps-after-redis-freeze',
  'p-overlaps-after-restart',
  'p-overlaps-after-clusterdown',
  'p-overlaps-after-failover',
  'p-order-unjudged-lost',
  'p-unowned-no-instance',
  'p-slowest-owned-again-ms',
  'p-isolation-judged',
  'p-isolation-unjudged',
  'p-isolation-clusterdown',
  'p-faults-not-applied',
];

/** Slack on the ownership bound: a lease sample every 250 ms, an instance's first tick, a slow machine. */
const OWNER_SLACK_MS = 1000;
/** How long before its handler starts an entry may have been delivered. */
const DELIVERY_LEAD_MS = 1000;

interface Window {
  start: number;
  end: number;
}
const meets = (w: Window, from: number, to: number): boolean => w.start < to && w.end > from;

export function checkPartitions(e: PartitionEvidence, v: Verdict): void {
  for (const k of PARTITION_STATS) v.stats[k] ??= 0;
  v.stats['p-runs'] = e.log.runs.length;
  const lost = checkHandled(e, v);
  checkRoutes(e, v);
  checkEmitsPresent(e, v);
  checkRunOverlaps(e, v);
  checkKeyOrder(e, lost, v);
  checkOwnership(e, v);
  checkIsolation(e, v);
  checkPartitionFaults(e, v);
}

/** The failovers that hit partition `q`: the partition schedule's, the plain schedule's, a freeze that became one. */
function failoversOf(e: PartitionEvidence, q: number): Window[] {
  return [
    ...e.faults.filter(
      (f) => (f.kind === 'p-failover' || (f.kind === 'redis-freeze' && f.failedOver)) && f.partitions.includes(q),
    ),
    ...e.plainFaults.filter((f) => f.kind === 'failover' && (f.partitions ?? []).includes(q)),
  ];
}

const runsOf = (e: PartitionEvidence): Map<string, HandlerRun[]> => {
  const out = new Map<string, HandlerRun[]>();
  for (const r of e.log.runs) {
    const k = `${r.partition} ${r.id}`;
    out.set(k, [...(out.get(k) ?? []), r]);
  }
  for (const list of out.values()) list.sort((a, b) => a.start - b.start);
  return out;
};

/** Every entry succeeded or was dead-lettered. Returns the entries excused as lost to a failover (`<p> <id>`). */
function checkHandled(e: PartitionEvidence, v: Verdict): Set<string> {
  const runs = runsOf(e);
  const excused = new Set<string>();
  const resolved = new Set(e.emits.map((m) => `${partitionOfKey(m.key, e.p.partitions)} ${m.id}`));
  for (let q = 0; q < e.p.partitions; q++) {
    const stored = new Set(e.stored[q].map((s) => s.id));
    const ids = new Set([
      ...stored,
      ...e.emits.filter((m) => partitionOfKey(m.key, e.p.partitions) === q).map((m) => m.id),
      ...e.log.runs.filter((r) => r.partition === q).map((r) => r.id),
    ]);
    const failedOver = failoversOf(e, q).length > 0;
    const missing: string[] = [];
    for (const id of [...ids].sort(compareIds)) {
      const mine = runs.get(`${q} ${id}`) ?? [];
      if (mine.length > 1) v.stats['p-reruns']++;
      if (e.dead[q].has(id)) v.stats['p-dead-lettered']++;
      if (mine.some((r) => r.ok) || e.dead[q].has(id)) continue;
      // A resolved emit gone before any run: [p-emit-lost] reports it.
      if (!stored.has(id) && mine.length === 0 && resolved.has(`${q} ${id}`)) continue;
      if (!stored.has(id) && !resolved.has(`${q} ${id}`) && failedOver) {
        v.stats['p-lost-unconfirmed']++;
        excused.add(`${q} ${id}`);
        continue;
      }
      // A reset meant to go back can still move a group forward: past entries it had not delivered yet.
      if (skippedByReset(e, q, id)) {
        v.stats['p-skipped-by-reset']++;
        excused.add(`${q} ${id}`);
        continue;
      }
      const what = mine[0] ? ` (${mine[0].key}/${mine[0].seq}, ${mine.length} runs, none ok)` : ' (never run)';
      missing.push(`${id}${what}`);
    }
    if (missing.length > 0) {
      v.violations.push(
        `[p-lost] p${q}: ${missing.length} entries never succeeded and were not dead-lettered, e.g. ${missing.slice(0, 3).join(', ')}`,
      );
    }
    const pending = e.pending[q];
    if (pending === undefined && ids.size > 0)
      v.violations.push(`[p-pending] p${q}: group pg does not exist at the end`);
    else if ((pending ?? 0) > 0) v.violations.push(`[p-pending] p${q}: ${pending} entries still pending at the end`);
  }
  return excused;
}

/** Whether a reset moved partition `q`'s group forward over `id` (from before it to at or after it). */
function skippedByReset(e: PartitionEvidence, q: number, id: string): boolean {
  return e.faults.some((f) =>
    (f.moves ?? []).some(
      (m) =>
        m.partition === q &&
        compareIds(id, m.id) <= 0 &&
        (m.previousId === null || compareIds(m.previousId, id) < 0) &&
        (m.previousId === null || compareIds(m.previousId, m.id) < 0),
    ),
  );
}

function checkRoutes(e: PartitionEvidence, v: Verdict): void {
  const wrong = [
    ...e.log.runs
      .filter((r) => partitionOfKey(r.key!, e.p.partitions) !== r.partition)
      .map((r) => `run of ${r.key}/${r.seq} from p${r.partition}`),
    ...e.stored.flatMap((entries, q) =>
      entries
        .filter((s) => partitionOfKey(s.key, e.p.partitions) !== q)
        .map((s) => `${s.key}/${s.seq} stored in p${q}`),
    ),
  ];
  if (wrong.length > 0) {
    v.violations.push(
      `[p-route] ${wrong.length} entries outside their key's partition, e.g. ${wrong.slice(0, 3).join(', ')}`,
    );
  }
}

function checkEmitsPresent(e: PartitionEvidence, v: Verdict): void {
  v.stats['p-emits-retried'] += e.emits.reduce((n, m) => n + m.failures, 0);
  const stored = e.stored.map((entries) => new Map(entries.map((s) => [s.id, s])));
  const gone: string[] = [];
  for (const m of e.emits) {
    const q = partitionOfKey(m.key, e.p.partitions);
    const s = stored[q].get(m.id);
    if (!s) gone.push(`${m.key}/${m.seq} (${m.id} in p${q})`);
    else if (s.key !== m.key || s.seq !== m.seq)
      gone.push(`${m.key}/${m.seq} (${m.id} in p${q} holds ${s.key}/${s.seq})`);
  }
  if (gone.length > 0) {
    v.violations.push(
      `[p-emit-lost] ${gone.length} resolved emits are not in their partition at the end, e.g. ${gone.slice(0, 3).join(', ')}`,
    );
  }
}

/** When a run's process could no longer be running it: its end, or its process's exit. */
function endOf(e: PartitionEvidence, r: HandlerRun): number {
  if (r.end !== undefined) return r.end;
  return e.incarnations.find((i) => i.pid === r.pid)?.exitedAt ?? Infinity;
}

/** Why the first of two overlapping runs may still have been running legitimately, or undefined. */
function overlapExcuse(e: PartitionEvidence, first: HandlerRun, second: HandlerRun): string | undefined {
  const L = e.p.leaseTime;
  const q = first.partition!;
  const from = first.start;
  const to = endOf(e, first);
  if (e.faults.some((f) => f.kind === 'p-freeze' && f.pid === first.pid && f.end - f.start >= L && meets(f, from, to)))
    return 'p-overlaps-after-freeze';
  const stalls = e.log.processes.get(first.pid)?.stalls ?? [];
  if (stalls.some(([a, b]) => b - a >= L / 2 && a < to && b > from)) return 'p-overlaps-after-stall';
  if (
    e.faults.some(
      (f) => f.kind === 'redis-freeze' && f.partitions.includes(q) && f.end - f.start >= L / 3 && meets(f, from, to),
    )
  )
    return 'p-overlaps-after-redis-freeze';
  if (e.plainFaults.some((f) => f.kind === 'restart' && f.end - f.start >= L / 3 && meets(f, from, to)))
    return 'p-overlaps-after-restart';
  // A master's freeze or failover that took the whole cluster down (CLUSTERDOWN: every master refuses commands, the
  // first runner's renewals too) for a third of the lease or more is Redis down for every partition.
  if (e.faults.some((f) => (f.clusterDownMs ?? 0) >= L / 3 && meets(f, from, to)))
    return 'p-overlaps-after-clusterdown';
  if (failoversOf(e, q).some((f) => meets(f, from - DELIVERY_LEAD_MS, Math.min(to, second.start))))
    return 'p-overlaps-after-failover';
  return undefined;
}

function checkRunOverlaps(e: PartitionEvidence, v: Verdict): void {
  for (const runs of runsOf(e).values()) {
    const bad: string[] = [];
    for (const [i, first] of runs.entries()) {
      const end = endOf(e, first);
      for (const second of runs.slice(i + 1)) {
        if (second.start >= end) continue;
        const excuse = overlapExcuse(e, first, second);
        if (excuse) {
          v.stats[excuse]++;
          continue;
        }
        const who = first.pid === second.pid ? 'the same process' : second.consumer;
        bad.push(
          `${first.token} (${first.consumer}, ${first.start}..${Number.isFinite(end) ? end : 'never ended'}) and ${second.token} (${who}, from ${second.start}, delivery ${second.delivery})`,
        );
      }
    }
    if (bad.length > 0) {
      const r = runs[0];
      v.violations.push(
        `[p-overlap] p${r.partition}: ${bad.length} pairs of runs of ${r.id} (${r.key}/${r.seq}) overlap, no excuse; ${bad[0]}`,
      );
    }
  }
}

/** When an entry was done: its first successful run's end, or when it was first dead-lettered. */
function doneAt(e: PartitionEvidence, q: number, id: string, runs: HandlerRun[]): number | undefined {
  const ends = runs.filter((r) => r.ok).map((r) => r.end!);
  const dead = e.dead[q].get(id);
  if (dead !== undefined) ends.push(dead);
  return ends.length > 0 ? Math.min(...ends) : undefined;
}

function describeDone(e: PartitionEvidence, q: number, id: string, done: number | undefined, start: number): string {
  if (done === undefined) return 'ever succeeded or was dead-lettered';
  const how = e.dead[q].get(id) === done ? 'was dead-lettered' : 'succeeded';
  return `${how} (at ${done}, ${done - start} ms later)`;
}

function checkKeyOrder(e: PartitionEvidence, lost: Set<string>, v: Verdict): void {
  const runs = runsOf(e);
  const resolved = new Set(e.emits.map((m) => m.id));
  for (let q = 0; q < e.p.partitions; q++) {
    // Every entry of the partition known by its key: stored at the end, or run.
    const entries = new Map<string, { key: string; seq: number }>();
    for (const s of e.stored[q]) entries.set(s.id, s);
    for (const r of e.log.runs)
      if (r.partition === q && !entries.has(r.id)) entries.set(r.id, { key: r.key!, seq: r.seq! });
    const stored = new Set(e.stored[q].map((s) => s.id));
    const byKey = new Map<string, string[]>();
    for (const [id, { key }] of entries) byKey.set(key, [...(byKey.get(key) ?? []), id]);
    for (const [key, ids] of byKey) {
      ids.sort(compareIds);
      const bad: string[] = [];
      let prev: string | undefined;
      for (const id of ids) {
        // An entry gone from the partition (lost to a failover, or a resolved emit gone: [p-emit-lost]) can't be
        // judged: leave it out of the key's chain.
        if (lost.has(`${q} ${id}`) || (!stored.has(id) && resolved.has(id))) {
          v.stats['p-order-unjudged-lost']++;
          continue;
        }
        if (prev !== undefined) {
          const done = doneAt(e, q, prev, runs.get(`${q} ${prev}`) ?? []);
          const early = (runs.get(`${q} ${id}`) ?? []).filter((r) => done === undefined || r.start < done);
          if (early.length > 0) {
            const p = entries.get(prev)!;
            const c = entries.get(id)!;
            bad.push(
              `${c.seq} (${id}) started at ${early[0].start} by ${early[0].consumer}, before ${p.seq} (${prev}) ` +
                describeDone(e, q, prev, done, early[0].start),
            );
          }
        }
        prev = id;
      }
      if (bad.length > 0) {
        v.violations.push(`[p-order] p${q} key ${key}: ${bad.length} entries started out of order, e.g. ${bad[0]}`);
      }
    }
  }
}

/** The instants at which what owns the partitions may change: processes, faults, the plain schedule's Redis faults. */
function changes(e: PartitionEvidence): number[] {
  const out = [e.started];
  for (const i of e.incarnations) out.push(i.startedAt, ...(i.exitedAt ? [i.exitedAt] : []));
  for (const p of e.log.processes.values()) {
    for (const t of [p.readyAt, p.closeStart]) if (t !== undefined) out.push(t);
  }
  for (const f of e.faults) out.push(f.start, f.end);
  for (const f of e.plainFaults) {
    if (['restart', 'failover', 'reshard', 'latency'].includes(f.kind)) out.push(f.start, f.end);
  }
  return out.sort((a, b) => a - b);
}

/** The instances able to own partitions at `t`: ready, not closing, not exited, not frozen. */
function liveAt(e: PartitionEvidence, t: number): string[] {
  const live: string[] = [];
  for (const i of e.incarnations) {
    const life = e.log.processes.get(i.pid);
    if (life?.readyAt === undefined || life.readyAt > t) continue;
    if ((i.exitedAt ?? Infinity) <= t || (life.closeStart ?? Infinity) <= t) continue;
    if (e.faults.some((f) => f.kind === 'p-freeze' && f.pid === i.pid && f.start <= t && f.end > t)) continue;
    live.push(i.consumer);
  }
  return live;
}

function ownedAt(e: PartitionEvidence, token: string | null, t: number): boolean {
  const consumer = token === null ? undefined : /^\d+:(.*)$/s.exec(token)?.[1];
  if (consumer === undefined) return false;
  return e.incarnations.some((i) => i.consumer === consumer && i.startedAt <= t && (i.exitedAt ?? Infinity) > t);
}

function checkOwnership(e: PartitionEvidence, v: Verdict): void {
  const L = e.p.leaseTime;
  const bound = 4 * L + OWNER_SLACK_MS;
  const when = changes(e);
  for (let q = 0; q < e.p.partitions; q++) {
    const samples = e.leases.filter((l) => l.partition === q).sort((a, b) => a.at - b.at);
    let i = 0;
    const bad: string[] = [];
    while (i < samples.length) {
      if (ownedAt(e, samples[i].token, samples[i].at)) {
        i++;
        continue;
      }
      const from = samples[i].at;
      while (i < samples.length && !ownedAt(e, samples[i].token, samples[i].at)) i++;
      const to = i < samples.length ? samples[i].at : e.finalStopAt;
      const last = Math.max(from, ...when.filter((c) => c <= to));
      const live = liveAt(e, last + 1);
      if (live.length === 0) {
        v.stats['p-unowned-no-instance']++;
        continue;
      }
      if (i < samples.length)
        v.stats['p-slowest-owned-again-ms'] = Math.max(v.stats['p-slowest-owned-again-ms'], to - last);
      if (to - last > bound) {
        const rel = (t: number): string => `${((t - e.started) / 1000).toFixed(1)}s`;
        bad.push(
          `no owner from ${rel(from)} to ${i < samples.length ? rel(to) : `the final stop (${rel(to)})`}, ` +
            `${to - last} ms after the last change (${rel(last)}) with ${live.join(', ')} live`,
        );
      }
    }
    if (bad.length > 0) {
      v.violations.push(`[p-owner] p${q}: ${bad.length} spans longer than 4 × lease (${bound} ms); ${bad[0]}`);
    }
  }
}

/**
 * On a cluster, a frozen or killed master may move only its own partitions' leases: a partition on another master
 * keeps its holder (its token) from the fault's start until a lease time after its end, unless something else that may
 * move it happened in that window (then the fault is not judged for it, and counted).
 */
function checkIsolation(e: PartitionEvidence, v: Verdict): void {
  if (!e.s.cluster) return;
  const L = e.p.leaseTime;
  for (const f of e.faults.filter((x) => (x.kind === 'redis-freeze' || x.kind === 'p-failover') && !x.error)) {
    const from = f.start;
    const to = f.end + L;
    // Everything else that may move a lease (the fault's own start and end aside, by identity: the Redis fault before
    // it often ends in the same millisecond).
    const others = changes({ ...e, faults: e.faults.filter((x) => x !== f) }).filter((c) => c > from - L && c < to);
    for (let q = 0; q < e.p.partitions; q++) {
      if (f.partitions.includes(q)) continue;
      const samples = e.leases.filter((l) => l.partition === q);
      const before = samples.filter((l) => l.at < from).pop();
      if (!before?.token) continue;
      if (others.length > 0) {
        v.stats['p-isolation-unjudged']++;
        continue;
      }
      // With full coverage required, every master refuses commands while the cluster is down (CLUSTERDOWN): a
      // stretch of two thirds of the lease leaves no renewal a chance, which no design of the renewals can help.
      if ((f.clusterDownMs ?? 0) >= (2 * L) / 3) {
        v.stats['p-isolation-clusterdown']++;
        continue;
      }
      v.stats['p-isolation-judged']++;
      const moved = samples.find((l) => l.at >= from && l.at <= to && l.token !== before.token);
      if (moved) {
        v.violations.push(
          `[p-isolation] p${q} (not on the hit master) went from ${before.token} to ${moved.token ?? 'no lease'} ` +
            `during ${f.kind} of p${f.target}'s master (${f.detail})`,
        );
      }
    }
  }
}

function checkPartitionFaults(e: PartitionEvidence, v: Verdict): void {
  for (const f of e.faults) {
    if (!f.error) continue;
    // The suite's own admin commands (CLIENT KILL, the reset) may meet a Redis that is down: counted, not judged.
    if (f.kind === 'p-client-kill' || f.kind === 'p-reset') v.stats['p-faults-not-applied']++;
    else v.violations.push(`[fault] ${f.kind} of ${f.target} at ${f.start}: ${f.error}`);
  }
}
