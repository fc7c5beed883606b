// Emits a partitioned seed's entries `{ key, seq, n }` (`held: true` on a few, see heldEntries) through the library's client, keyed (`RedisStreamsRecord` key),
// paced over the production time. Each key has one emit in flight at a time, so a key's entries are stored in the
// order of their numbers (a failed emit is retried before the key's next one; if the failed one was stored after all,
// the key has that number twice, which the checks allow for). On a cluster every emit is durable (`durability`).
import { RedisStreamsRecord, type RedisStreamsClient } from 'nestjs-redis-streams';
import type { PartitionPlan } from './scenario.js';

export interface KeyedEmit {
  key: string;
  seq: number;
  n: number;
  /** The id the emit resolved with. */
  id: string;
  /** Emits of it that failed before this one resolved. */
  failures: number;
}

/** The partition of an entry key: FNV-1a of its UTF-8 bytes, as the README states (a copy, to check the library's). */
export function partitionOfKey(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash % partitions;
}

/** Which key entry `n` goes to, from the seed (every key gets some). */
export function keyOf(p: PartitionPlan, n: number, seed: number): string {
  const mixed = Math.imul((n + 1) ^ seed, 0x9e3779b1) >>> 0;
  return `k${n < p.keys ? n : mixed % p.keys}`;
}

/**
 * The entries emitted 150–400 ms before a join, a leave or a reset: their handlers take `shutdownTimeout` + a lease
 * (faults-worker.mjs), so those faults meet running entries: a hand-back must wait for (or fence) the running entry
 * before the next owner starts it, and a reset backwards must not deliver it again to run at once.
 */
export function heldEntries(p: PartitionPlan, durationMs: number): Set<number> {
  const at = p.faults.filter((f) => ['p-join', 'p-leave', 'p-reset'].includes(f.kind)).map((f) => f.at);
  const held = new Set<number>();
  for (let n = 0; n < p.entries; n++) {
    const t = (n * durationMs) / p.entries;
    if (at.some((a) => t >= a - 400 && t <= a - 150)) held.add(n);
  }
  return held;
}

export async function produceKeyed(
  client: RedisStreamsClient,
  stream: string,
  p: PartitionPlan,
  seed: number,
  durationMs: number,
  options: { retry: boolean; onRetry: () => void },
): Promise<KeyedEmit[]> {
  const poison = new Set(p.poison);
  const seqs = new Map<string, number>();
  const chains = new Map<string, Promise<void>>();
  const done: KeyedEmit[] = [];
  const started = Date.now();
  const held = heldEntries(p, durationMs);
  const emit = async (key: string, seq: number, n: number): Promise<void> => {
    const data = { key, seq, n, ...(poison.has(n) ? { poison: true } : {}), ...(held.has(n) ? { held: true } : {}) };
    for (let failures = 0; ; failures++) {
      try {
        const id = await client.dispatch(stream, new RedisStreamsRecord(data, {}, { key }));
        done.push({ key, seq, n, id, failures });
        return;
      } catch (err) {
        if (!options.retry || failures >= 50) throw err;
        options.onRetry();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  for (let n = 0; n < p.entries; n++) {
    const wait = started + (n * durationMs) / p.entries - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const key = keyOf(p, n, seed);
    const seq = seqs.get(key) ?? 0;
    seqs.set(key, seq + 1);
    const chain = (chains.get(key) ?? Promise.resolve()).then(() => emit(key, seq, n));
    chains.set(key, chain);
  }
  await Promise.all(chains.values());
  return done;
}
