// Reads the workers' event logs (test/faults/faults-worker.mjs writes one per consumer, appended across restarts).
// A line is `<kind> <group> <id> <token> <extra> <ms> <pid>`, `-` where a field does not apply:
//   S g1 1700000000000-0 4242.17 3 <ms> <pid>   handler run started (token = pid.run, extra = delivery count)
//   E g1 1700000000000-0 4242.17 ok <ms> <pid>  the same run ended (ok | fail)
//   B - 1700000000000-0 - - <ms> <pid>          the broadcast reader saw the entry
//   R | CS | CE - - - - <ms> <pid>              ready (listening), close() started, close() returned
//   L - - - 600 <ms> <pid>                      the event loop stalled: nothing ran for 600 ms before <ms>
// An instance of a partitioned stream names the partition, the entry's key and its number within the key in the group
// field: `S pg/3/k2/17 1700000000000-0 4242.17 1 <ms> <pid>` (see partition-scenario.ts).
// A kill -9 can cut the last line short; lines that don't parse are skipped.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface HandlerRun {
  consumer: string;
  pid: number;
  group: string;
  id: string;
  token: string;
  delivery: number;
  start: number;
  /** When the handler returned or threw; undefined if its process died first. */
  end?: number;
  ok?: boolean;
  /** Partitioned runs only: the partition, the entry's key and its sequence number within the key. */
  partition?: number;
  key?: string;
  seq?: number;
}

export interface ProcessLife {
  consumer: string;
  pid: number;
  readyAt?: number;
  closeStart?: number;
  closeEnd?: number;
  /** Broadcast entries seen, by id. */
  broadcast: Set<string>;
  /** Event-loop stalls of 250 ms or more: [from, to] in ms. */
  stalls: [number, number][];
}

export interface EventLog {
  runs: HandlerRun[];
  /** By pid. */
  processes: Map<number, ProcessLife>;
}

export function readEventLogs(dir: string): EventLog {
  const runs = new Map<string, HandlerRun>();
  const processes = new Map<number, ProcessLife>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.events'))) {
    const consumer = file.slice(0, -'.events'.length);
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      const parts = line.split(' ');
      if (parts.length !== 7) continue;
      const [kind, group, id, token, extra, msText, pidText] = parts;
      const at = Number(msText);
      const pid = Number(pidText);
      if (!Number.isFinite(at) || !Number.isInteger(pid)) continue;
      let life = processes.get(pid);
      if (!life) processes.set(pid, (life = { consumer, pid, broadcast: new Set(), stalls: [] }));
      if (kind === 'S') {
        const [name, partition, key, seq] = group.split('/');
        const run: HandlerRun = { consumer, pid, group: name, id, token, delivery: Number(extra), start: at };
        if (key !== undefined) Object.assign(run, { partition: Number(partition), key, seq: Number(seq) });
        runs.set(token, run);
      } else if (kind === 'E' && runs.has(token)) Object.assign(runs.get(token)!, { end: at, ok: extra === 'ok' });
      else if (kind === 'B') life.broadcast.add(id);
      else if (kind === 'R') life.readyAt = at;
      else if (kind === 'L') life.stalls.push([at - Number(extra), at]);
      else if (kind === 'CS') life.closeStart = at;
      else if (kind === 'CE') life.closeEnd = at;
    }
  }
  return { runs: [...runs.values()], processes };
}

/** Runs by `<group> <entry id>`. */
export function runsByEntry(runs: HandlerRun[]): Map<string, HandlerRun[]> {
  const out = new Map<string, HandlerRun[]>();
  for (const r of runs) {
    const key = `${r.group} ${r.id}`;
    const list = out.get(key);
    if (list) list.push(r);
    else out.set(key, [r]);
  }
  return out;
}
