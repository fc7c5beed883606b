// Writes the chaos suite's entries through the library's own client, paced over a given time so that the faults land
// while entries are still arriving (a burst would be consumed before the first kill).
import type { RedisStreamsClient } from 'nestjs-redis-streams';

export interface ChaosPayload {
  seq: number;
  poison?: boolean;
}

export interface ProduceOptions {
  total: number;
  /** Spread the writes over this long, in ms; 0 writes as fast as Redis takes them. */
  durationMs: number;
  batch?: number;
  payload?: (seq: number) => ChaosPayload;
  /**
   * Emit again, after this many ms, what failed (during a cluster's failover emits fail until a replica is promoted
   * and confirms them), up to 50 times; `onRetry` hears of each failure. Without it a failed emit fails the run. The
   * failed emit may still have been stored: it is then an entry of its own, which the consumers must handle too.
   */
  retryAfterMs?: number;
  onRetry?: (seq: number, err: unknown) => void;
}

/** Dispatches `total` entries `{ seq }` (seq 0 … total-1) and returns their ids by seq. */
export async function produce(client: RedisStreamsClient, stream: string, options: ProduceOptions): Promise<string[]> {
  const { total, durationMs, batch = 250, payload = (seq) => ({ seq }), retryAfterMs, onRetry } = options;
  const emit = async (seq: number): Promise<string> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await client.dispatch(stream, payload(seq));
      } catch (err) {
        if (retryAfterMs === undefined || attempt >= 50) throw err;
        onRetry?.(seq, err);
        await new Promise((resolve) => setTimeout(resolve, retryAfterMs));
      }
    }
  };
  const ids: string[] = new Array<string>(total);
  const batches = Math.ceil(total / batch);
  const started = Date.now();
  for (let b = 0; b < batches; b++) {
    const writes: Promise<void>[] = [];
    for (let seq = b * batch; seq < Math.min(total, (b + 1) * batch); seq++) {
      writes.push(emit(seq).then((id) => void (ids[seq] = id)));
    }
    await Promise.all(writes);
    const due = started + ((b + 1) * durationMs) / batches;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return ids;
}
