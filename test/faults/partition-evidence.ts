// What the partitioned checks (check-partitions.ts) judge: the instances' event logs, the instances started and
// exited, the partition faults applied (and the plain schedule's Redis faults, which hit the partitions too), each
// partition's lease sampled through the run, the emits that resolved, and what each partition holds at the end
// (entries, dead letters, pending).
import { DATA_FIELD, DEAD_LETTER_FIELDS, sameSlotKey } from 'nestjs-redis-streams';
import type { Incarnation } from '../chaos/chaos-processes.js';
import { readStream } from '../chaos/chaos-tally.js';
import type { EventLog } from './event-log.js';
import type { AppliedFault } from './fault-schedule.js';
import type { AppliedPartitionFault } from './partition-faults.js';
import type { KeyedEmit } from './partition-producer.js';
import type { Admin } from './redis-under-test.js';
import type { PartitionPlan, Scenario } from './scenario.js';
import { field } from './stream-admin.js';
import { compareIds } from './stream-ids.js';

export const PARTITION_GROUP = 'pg';

/** A partition's lease as the suite read it: the holder's token `<generation>:<consumer>`, or null when free. */
export interface LeaseSample {
  at: number;
  partition: number;
  token: string | null;
}

export interface StoredEntry {
  id: string;
  key: string;
  seq: number;
  n: number;
}

export interface PartitionEvidence {
  s: Scenario;
  p: PartitionPlan;
  log: EventLog;
  incarnations: Incarnation[];
  faults: AppliedPartitionFault[];
  /** The plain schedule's faults: its Redis restarts, failovers, reshards and latency hit the partitions too. */
  plainFaults: AppliedFault[];
  leases: LeaseSample[];
  emits: KeyedEmit[];
  /** When production started, and when the final graceful stop of every instance began. */
  started: number;
  finalStopAt: number;
  /** Per partition, at the end: its entries, its dead letters (entry id → when it was dead-lettered), its pending. */
  stored: StoredEntry[][];
  dead: Map<string, number>[];
  pending: (number | undefined)[];
}

export const leaseKeyOf = (partitionKey: string): string => sameSlotKey(partitionKey, `:lease:${PARTITION_GROUP}`);

/**
 * Reads every partition's lease every 250 ms until stopped, each partition in a loop of its own, so a frozen or
 * failing master holds up only the samples of its own partitions (errors are skipped: no sample then).
 */
export function sampleLeases(admin: Admin, partitionKeys: string[], into: LeaseSample[]): () => Promise<void> {
  let stopped = false;
  const loops = partitionKeys.map(async (key, partition) => {
    while (!stopped) {
      try {
        const token = await admin.get(leaseKeyOf(key));
        into.push({ at: Date.now(), partition, token });
      } catch {
        // Redis restarting, a failover under way: nothing to sample now.
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });
  return async () => {
    stopped = true;
    await Promise.all(loops);
  };
}

/** Waits until every partition's group has delivered its whole partition and holds nothing pending. */
export async function waitUntilPartitionsSettled(
  admin: Admin,
  partitionKeys: string[],
  timeoutMs: number,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let open: string[] = ['not checked yet'];
  while (Date.now() < deadline) {
    open = [];
    for (const [i, key] of partitionKeys.entries()) {
      try {
        const last = (await admin.xrevrange(key, '+', '-', 'COUNT', 1))[0]?.[0];
        if (last === undefined) continue;
        const groups = (await admin.call('XINFO', 'GROUPS', key)) as unknown[][];
        const row = groups.find((g) => String(field(g, 'name')) === PARTITION_GROUP);
        if (!row) open.push(`p${i}: no group ${PARTITION_GROUP}`);
        else if (Number(field(row, 'pending')) > 0) open.push(`p${i}: ${String(field(row, 'pending'))} pending`);
        else if (compareIds(String(field(row, 'last-delivered-id')), last) < 0) {
          open.push(`p${i}: delivered up to ${String(field(row, 'last-delivered-id'))} of ${last}`);
        }
      } catch (err) {
        open.push(`p${i}: ${(err as Error).message}`);
      }
    }
    if (open.length === 0) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return `partitions did not settle within ${timeoutMs / 1000} s: ${open.join('; ')}`;
}

export async function readPartitionEvidence(
  admin: Admin,
  partitionKeys: string[],
  cluster: boolean,
  partial: Omit<PartitionEvidence, 'stored' | 'dead' | 'pending'>,
): Promise<PartitionEvidence> {
  const stored: StoredEntry[][] = [];
  const dead: Map<string, number>[] = [];
  const pending: (number | undefined)[] = [];
  for (const key of partitionKeys) {
    stored.push(
      (await readStream(admin, key)).map(({ id, fields }) => {
        const data = JSON.parse(fields[DATA_FIELD] ?? '{}') as { key?: string; seq?: number; n?: number };
        return { id, key: String(data.key), seq: Number(data.seq), n: Number(data.n) };
      }),
    );
    // The default dead-letter stream of a partition: `<key>:dead`, on a cluster `{<key>}:dead` (its slot).
    const deadKey = cluster ? sameSlotKey(key, ':dead') : `${key}:dead`;
    const mine = new Map<string, number>();
    for (const d of await readStream(admin, deadKey)) {
      // The first time counts: a reset backwards may deliver it again and dead-letter it once more.
      if (d.fields[DEAD_LETTER_FIELDS.group] !== PARTITION_GROUP || mine.has(d.fields[DEAD_LETTER_FIELDS.id])) continue;
      mine.set(d.fields[DEAD_LETTER_FIELDS.id], Number(d.id.split('-')[0]));
    }
    dead.push(mine);
    try {
      const summary = (await admin.xpending(key, PARTITION_GROUP)) as [number, ...unknown[]];
      pending.push(Number(summary[0]));
    } catch {
      pending.push(undefined);
    }
  }
  return { ...partial, stored, dead, pending };
}
