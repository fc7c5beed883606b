// What the checks judge: the workers' event logs, what the suite did (processes started and exited, faults applied,
// pending counts sampled during the run) and what Redis holds at the end (stream, dead letters, effects, pending).
import { DEAD_LETTER_FIELDS } from 'nestjs-redis-streams';
import type { Incarnation } from '../chaos/chaos-processes.js';
import { pendingCount, readStream } from '../chaos/chaos-tally.js';
import type { EventLog } from './event-log.js';
import type { AppliedFault } from './fault-schedule.js';
import type { Admin } from './redis-under-test.js';
import type { Scenario } from './scenario.js';
import { compareIds } from './stream-ids.js';

export interface PendingSample {
  at: number;
  group: string;
  consumer: string;
  pending: number;
}

export interface Evidence {
  s: Scenario;
  log: EventLog;
  incarnations: Incarnation[];
  faults: AppliedFault[];
  samples: PendingSample[];
  /** When the final graceful stop of every worker began. */
  finalStopAt: number;
  /** Every entry id known to have been in the stream (added by the producer, left at the end, or handled). */
  universe: string[];
  /** The ids of the emits that completed (on a cluster: that a replica confirmed). */
  produced: Set<string>;
  /** Ids still in the stream at the end. */
  inStream: Set<string>;
  /** Ids that a trim removed. */
  trimmed: Set<string>;
  /** group → entry id → dead-letter reason. */
  dead: Map<string, Map<string, string>>;
  /** group → entry id → times its effects were applied / the token of the run that applied them last. */
  effects: Map<string, Record<string, string>>;
  appliedBy: Map<string, Record<string, string>>;
  /** group → pending at the end, or undefined if the group does not exist. */
  pending: Map<string, number | undefined>;
}

export async function readEvidence(
  admin: Admin,
  run: string,
  key: string,
  produced: string[],
  partial: Pick<Evidence, 's' | 'log' | 'incarnations' | 'faults' | 'samples' | 'finalStopAt'>,
): Promise<Evidence> {
  const stream = await readStream(admin, key);
  const inStream = new Set(stream.map((e) => e.id));
  const dead = new Map(partial.s.groups.map((g) => [g.name, new Map<string, string>()]));
  for (const d of await readStream(admin, `${key}:dead`)) {
    dead
      .get(d.fields[DEAD_LETTER_FIELDS.group])
      ?.set(d.fields[DEAD_LETTER_FIELDS.id], d.fields[DEAD_LETTER_FIELDS.reason]);
  }
  const effects = new Map<string, Record<string, string>>();
  const appliedBy = new Map<string, Record<string, string>>();
  const pending = new Map<string, number | undefined>();
  for (const { name } of partial.s.groups) {
    effects.set(name, await admin.hgetall(`${run}:effects:${name}`));
    appliedBy.set(name, await admin.hgetall(`${run}:by:${name}`));
    pending.set(name, await pendingCount(admin, key, name).catch(() => undefined));
  }
  const ids = new Set([...produced.filter(Boolean), ...inStream, ...partial.log.runs.map((r) => r.id)]);
  const universe = [...ids].sort(compareIds);
  const trimmed = new Set(partial.faults.flatMap((f) => f.trimmed ?? []));
  return { ...partial, universe, produced: new Set(produced), inStream, trimmed, dead, effects, appliedBy, pending };
}

/**
 * Why an entry is no longer in the stream, or undefined when nothing explains it: `trim` when a trim removed it;
 * `failover` when a failover happened and the entry's emit did not complete: its XADD reached the old master, which
 * was killed before a replica had it, and the producer was told.
 */
export function whyGone(e: Evidence, id: string): 'trim' | 'failover' | undefined {
  if (e.trimmed.has(id)) return 'trim';
  if (!e.produced.has(id) && e.faults.some((f) => f.kind === 'failover')) return 'failover';
  return undefined;
}

/** Samples every consumer's pending count in every group until stopped (errors while Redis restarts are skipped). */
export function samplePending(admin: Admin, key: string, s: Scenario, into: PendingSample[]): () => Promise<void> {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const { name } of s.groups) {
        try {
          const rows = (await admin.call('XINFO', 'CONSUMERS', key, name)) as unknown[][];
          const at = Date.now();
          for (const row of rows) {
            const info = Object.fromEntries(row.flatMap((v, i) => (i % 2 === 0 ? [[v, row[i + 1]]] : [])));
            into.push({ at, group: name, consumer: String(info.name), pending: Number(info.pending) });
          }
        } catch {
          // Redis restarting, or the group destroyed: nothing to sample now.
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}
