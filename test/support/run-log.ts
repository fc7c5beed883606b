import type { Behaviour } from './handlers.js';

/** One handler run of one entry: who ran it, when it started and ended, and whether it succeeded. */
export interface Run {
  id: string;
  consumer: string;
  start: number;
  end?: number;
  ok?: boolean;
}

/** Every handler start and end, per entry id, for assertions about duplicates and overlap. */
export class RunLog {
  readonly runs: Run[] = [];

  /** Wraps `behaviour` so each call is recorded (its end is when the returned promise settles). */
  wrap(behaviour: Behaviour): Behaviour {
    return async (data, ctx) => {
      const run: Run = { id: ctx.getId(), consumer: ctx.getConsumer(), start: Date.now() };
      this.runs.push(run);
      try {
        const result = await behaviour(data, ctx);
        run.ok = true;
        return result;
      } catch (err) {
        run.ok = false;
        throw err;
      } finally {
        run.end = Date.now();
      }
    };
  }

  of(id: string): Run[] {
    return this.runs.filter((run) => run.id === id);
  }

  /** How many runs each id had. */
  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const run of this.runs) counts.set(run.id, (counts.get(run.id) ?? 0) + 1);
    return counts;
  }

  /** Pairs of runs of one entry that overlapped in time (an unfinished run lasts forever), described for a message
   * (the first 20). */
  overlaps(sameConsumerOnly = false): string[] {
    const found: string[] = [];
    for (let i = 0; i < this.runs.length; i++) {
      for (let j = i + 1; j < this.runs.length; j++) {
        const [a, b] = [this.runs[i], this.runs[j]];
        if (a.id !== b.id || (sameConsumerOnly && a.consumer !== b.consumer)) continue;
        if (a.start < (b.end ?? Infinity) && b.start < (a.end ?? Infinity)) {
          found.push(`${a.id}: ${a.consumer}@${a.start}-${a.end ?? '…'} and ${b.consumer}@${b.start}-${b.end ?? '…'}`);
        }
      }
    }
    return found.length <= 20 ? found : [...found.slice(0, 20), `… and ${found.length - 20} more`];
  }
}
