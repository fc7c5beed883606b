// Waits, after the last fault and the last entry, until every group has delivered the whole stream and acknowledged
// everything, and every broadcast reader's latest process has seen the stream's last entry. Not settling in time is
// itself a violation (something is stuck); the checks still run, to say what.
import { type ProcessLife, readEventLogs } from './event-log.js';
import type { Admin } from './redis-under-test.js';
import type { Scenario } from './scenario.js';
import { field } from './stream-admin.js';
import { compareIds, idTime } from './stream-ids.js';

const text = (flat: unknown[], name: string): string => String(field(flat, name));

async function unsettled(admin: Admin, key: string, s: Scenario, eventDir: string): Promise<string[]> {
  // The last entry still there: a trim may have removed later ones before any group read them.
  const last = (await admin.xrevrange(key, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
  const groups = (await admin.call('XINFO', 'GROUPS', key)) as unknown[][];
  const open: string[] = [];
  for (const { name } of s.groups) {
    const row = groups.find((g) => text(g, 'name') === name);
    if (!row) open.push(`${name}: missing`);
    else if (Number(text(row, 'pending')) > 0) open.push(`${name}: ${text(row, 'pending')} pending`);
    else if (compareIds(text(row, 'last-delivered-id'), last) < 0)
      open.push(`${name}: delivered up to ${text(row, 'last-delivered-id')} of ${last}`);
  }
  if (s.broadcast.length > 0 && last !== '0-0') {
    // A restarted reader starts at `$`: it owes only entries added after it was ready.
    const latest = new Map<string, ProcessLife>();
    for (const p of readEventLogs(eventDir).processes.values()) if (p.readyAt) latest.set(p.consumer, p);
    for (const consumer of s.broadcast) {
      const p = latest.get(consumer);
      if (p && idTime(last) > p.readyAt! && !p.broadcast.has(last)) open.push(`broadcast ${consumer}: not at ${last}`);
    }
  }
  return open;
}

/** Resolves undefined once settled, or a description of what was still open after `timeoutMs`. */
export async function waitUntilSettled(
  admin: Admin,
  key: string,
  s: Scenario,
  eventDir: string,
  timeoutMs: number,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let open: string[] = ['not checked yet'];
  while (Date.now() < deadline) {
    open = await unsettled(admin, key, s, eventDir).catch((err: Error) => [err.message]);
    if (open.length === 0) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return `did not settle within ${timeoutMs / 1000} s: ${open.join('; ')}`;
}
