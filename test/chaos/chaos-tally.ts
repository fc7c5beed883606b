// Reads back what Redis recorded of a chaos run: the stream's entries, the at-least-once records (`<run>:seen` and
// `<run>:completed`, hashes of entry id → times a handler started / returned), the exactly-once effects (`<run>:count`, `<run>:done`), the group's pending list
// and the dead-letter stream. Everything the suite asserts comes from here, not from the processes' memory.
import type { Cluster, Redis } from 'ioredis';
import { DEAD_LETTER_FIELDS } from 'nestjs-redis-streams';

export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

export interface ChaosTally {
  /** Entries in the stream. */
  entries: number;
  /** Entries whose handler ran at least once. */
  processed: number;
  /** Handler runs beyond the first, over all entries except dead-lettered ones (whose retries are by design). */
  duplicates: number;
  /** Entries whose handler never ran. */
  lost: number;
  /** The most runs of one entry. */
  maxRuns: number;
  /** Entries whose handler returned more than once (`<run>:completed`): each offered its effects again. */
  completedTwice: number;
  /** The exactly-once counter (`HINCRBY <run>:count n 1` as an effect). */
  effectCount: number;
  /** Entries recorded in the exactly-once hash `<run>:done` (entry id → seq). */
  effectEntries: number;
  /** Entries of the stream missing from `<run>:done`, or recorded there with another seq. */
  effectMismatches: string[];
  /** Entries still pending in the group. */
  pending: number;
  deadLetters: StreamEntry[];
  /** Runs per entry id. */
  runs: Map<string, number>;
  stream: StreamEntry[];
}

export async function readStream(admin: Redis | Cluster, key: string): Promise<StreamEntry[]> {
  const out: StreamEntry[] = [];
  let start = '-';
  for (;;) {
    const page = await admin.xrange(key, start, '+', 'COUNT', 5000);
    for (const [id, flat] of page) {
      const fields: Record<string, string> = {};
      for (let i = 0; i < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
      out.push({ id, fields });
    }
    if (page.length < 5000) return out;
    start = `(${page[page.length - 1][0]}`;
  }
}

export async function pendingCount(admin: Redis | Cluster, key: string, group: string): Promise<number> {
  const summary = (await admin.xpending(key, group)) as [number, ...unknown[]];
  return Number(summary[0]);
}

export async function tally(
  admin: Redis,
  run: string,
  key: string,
  group: string,
  deadKey: string,
): Promise<ChaosTally> {
  const stream = await readStream(admin, key);
  const deadLetters = await readStream(admin, deadKey);
  const deadIds = new Set(deadLetters.map((d) => d.fields[DEAD_LETTER_FIELDS.id]));
  const seen = await admin.hgetall(`${run}:seen`);
  const done = await admin.hgetall(`${run}:done`);
  const completed = await admin.hgetall(`${run}:completed`);
  const completedTwice = Object.values(completed).filter((n) => Number(n) > 1).length;
  const runs = new Map<string, number>();
  let processed = 0;
  let duplicates = 0;
  let maxRuns = 0;
  const effectMismatches: string[] = [];
  for (const { id, fields } of stream) {
    const n = Number(seen[id] ?? 0);
    runs.set(id, n);
    if (n > 0) processed++;
    if (!deadIds.has(id)) duplicates += Math.max(0, n - 1);
    maxRuns = Math.max(maxRuns, n);
    const seq = String((JSON.parse(fields.data) as { seq: number }).seq);
    if (done[id] !== undefined && done[id] !== seq) effectMismatches.push(`${id} (done=${done[id]}, seq=${seq})`);
  }
  const unknown = Object.keys(seen).filter((id) => !runs.has(id));
  if (unknown.length > 0)
    throw new Error(`Handlers recorded ids that are not in ${key}: ${unknown.slice(0, 5).join(', ')}`);
  return {
    entries: stream.length,
    processed,
    duplicates,
    lost: stream.length - processed,
    maxRuns,
    completedTwice,
    effectCount: Number((await admin.hget(`${run}:count`, 'n')) ?? 0),
    effectEntries: Object.keys(done).length,
    effectMismatches,
    pending: await pendingCount(admin, key, group),
    deadLetters,
    runs,
    stream,
  };
}

/** Waits until every entry of the stream has its exactly-once record and the group has nothing pending. */
export async function waitUntilSettled(
  admin: Redis,
  run: string,
  key: string,
  group: string,
  expectedEffects: (entries: number) => number,
  timeoutMs: number,
  diagnostics: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const [entries, done, pending] = await Promise.all([
      admin.xlen(key),
      admin.hlen(`${run}:done`),
      pendingCount(admin, key, group),
    ]);
    last = `entries=${entries} done=${done} pending=${pending}`;
    if (done === expectedEffects(entries) && pending === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const consumers = await admin.call('XINFO', 'CONSUMERS', key, group);
  const pendingRows = await admin.xpending(key, group, '-', '+', 10);
  throw new Error(
    `The run did not settle within ${timeoutMs} ms (${last}).\n` +
      `XINFO CONSUMERS: ${JSON.stringify(consumers)}\nXPENDING (first 10): ${JSON.stringify(pendingRows)}\n${diagnostics()}`,
  );
}

/**
 * Waits until every consumer has a connection whose last command is XREADGROUP and that was active in the last 2 s:
 * its group reader is reading. Readers block for at most `block` (1 s here) and then read again, so a reader that
 * stopped after the Redis crash or a dropped connection shows up as missing or idle for longer and the wait times out.
 * Claims and acks go through another connection, so they can't stand in for a dead reader.
 */
export async function waitUntilReadersRead(admin: Redis, consumers: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let missing: string[] = consumers;
  let list = '';
  while (Date.now() < deadline) {
    list = (await admin.call('CLIENT', 'LIST', 'TYPE', 'normal')) as string;
    const reading = list
      .split('\n')
      .map((line) => /(?:^|\s)name=(\S*)\s.*\sidle=(\d+)\s.*\scmd=(\S+)/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null && m[3] === 'xreadgroup' && Number(m[2]) <= 2)
      .map((m) => m[1]);
    missing = consumers.filter((consumer) => !reading.some((name) => name.startsWith(`${consumer}:`)));
    if (missing.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`No group reader of ${missing.join(', ')} is reading after ${timeoutMs} ms. CLIENT LIST:\n${list}`);
}
