// The benchmark payload: a JSON object of 210 bytes, as the measurements used, stored the way
// RedisStreamsClient writes it (field `data` = JSON), so every consumer, raw or Nest, reads the same entries.
export const PAYLOAD_BYTES = 210;

const FILLER = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore ';

const bodies = new Map();

/**
 * A payload whose JSON is exactly PAYLOAD_BYTES long, for sequence number `n` sent at wall time `t` (ms). The padding
 * is cached by the width of `n` and `t`, so making a payload costs the producers (raw or ours) next to nothing.
 */
export function makePayload(n, t = 0) {
  const width = `${String(n).length}:${String(t).length}`;
  let body = bodies.get(width);
  if (body === undefined) {
    const probe = { n, t, user: 'user-000042', kind: 'Email', to: 'someone@example.com', body: '' };
    body = FILLER.repeat(4).slice(0, Math.max(0, PAYLOAD_BYTES - JSON.stringify(probe).length));
    bodies.set(width, body);
  }
  return { n, t, user: 'user-000042', kind: 'Email', to: 'someone@example.com', body };
}

/** The JSON of payload `n`, padded to PAYLOAD_BYTES whatever the width of `n` and `t`. */
export function payloadJson(n, t = 0) {
  return JSON.stringify(makePayload(n, t));
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one machine. */
export function nowMs() {
  return performance.timeOrigin + performance.now();
}

/** Appends `total` entries to `key` with pipelined XADD (batches of 1,000). Returns the last id. */
export async function fill(redis, key, total, batch = 1000) {
  let last;
  for (let sent = 0; sent < total;) {
    const pipe = redis.pipeline();
    const size = Math.min(batch, total - sent);
    for (let i = 0; i < size; i++) pipe.xadd(key, '*', 'data', payloadJson(sent + i));
    const results = await pipe.exec();
    for (const [err] of results) if (err) throw err;
    last = results[results.length - 1][1];
    sent += size;
  }
  return last;
}
