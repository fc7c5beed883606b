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
}

/** Dispatches `total` entries `{ seq }` (seq 0 … total-1) and returns their ids by seq. */
export async function produce(client: RedisStreamsClient, stream: string, options: ProduceOptions): Promise<string[]> {
  const { total, durationMs, batch = 250, payload = (seq) => ({ seq }) } = options;
  const ids: string[] = new Array<string>(total);
  const batches = Math.ceil(total / batch);
  const started = Date.now();
  for (let b = 0; b < batches; b++) {
    const writes: Promise<void>[] = [];
    for (let seq = b * batch; seq < Math.min(total, (b + 1) * batch); seq++) {
      writes.push(client.dispatch(stream, payload(seq)).then((id) => void (ids[seq] = id)));
    }
    await Promise.all(writes);
    const due = started + ((b + 1) * durationMs) / batches;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return ids;
}
