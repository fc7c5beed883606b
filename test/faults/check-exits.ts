// Every worker process that stopped did so because the suite stopped it: a kill -9 or close() of the schedule, the
// final stop, or the kill of a start that failed (`listen()` did not report ready, counted as `start-failures`). A
// process that exits by itself (a crash, an unhandled rejection, process.exit in a library) is a violation: the faults
// planned for it afterwards would otherwise only show up as "not running".
import type { Incarnation } from '../chaos/chaos-processes.js';
import type { Verdict } from './check-delivery.js';
import type { EventLog } from './event-log.js';

export function checkExits(
  label: string,
  incarnations: Incarnation[],
  log: EventLog,
  /** The pids the schedule killed or closed. */
  stoppedPids: Set<number>,
  finalStopAt: number,
  started: number,
  v: Verdict,
): void {
  const stat = `${label === 'plain' ? '' : `${label}-`}start-failures`;
  v.stats[stat] ??= 0;
  for (const i of incarnations) {
    if (i.exitedAt === undefined || i.exitedAt >= finalStopAt || stoppedPids.has(i.pid)) continue;
    if (log.processes.get(i.pid)?.readyAt === undefined) {
      v.stats[stat]++;
      continue;
    }
    const how = i.exitSignal ? `signal ${i.exitSignal}` : `code ${i.exitCode}`;
    v.violations.push(
      `[exit] ${i.consumer} (pid ${i.pid}) exited by itself at ${((i.exitedAt - started) / 1000).toFixed(1)}s (${how}); ` +
        'see its log for the last thing it did',
    );
  }
}
