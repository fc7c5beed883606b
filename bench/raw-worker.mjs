// The raw ioredis baselines, one mode per process (BENCH_MODE), driven by bench/run.mjs over IPC:
//   group       XREADGROUP COUNT n BLOCK 2000 >, JSON.parse of each entry, one XACK per batch (sent, not awaited,
//               ahead of the next read on the same connection)
//   xread       plain XREAD loop (broadcast baseline) from START_ID until TARGET entries were seen
//   xadd        TOTAL entries with pipelined XADD (batches of BATCH)
//   xadd-cork   TOTAL entries, WINDOW in flight, each XADD a bare Command; the socket is corked for each tick, so one
//               tick's commands leave in one write (the same technique as RedisStreamsClient.emit, without Nest)
//   rate        XADD at RATE entries/s for DURATION ms, each payload stamped with its send time (latency producer)
//   publish     TOTAL PUBLISHes in Nest's Redis-transport packet format, pipelined (for Transport.REDIS)
// IOREDIS=6 uses ioredis 6 (the `ioredis6` alias); anything else ioredis 5, the library's version.
import { makePayload, nowMs } from './lib/payload.mjs';
import { LatencyRecorder } from './lib/latency.mjs';

const env = process.env;
const { Redis, Command } = env.IOREDIS === '6' ? await import('ioredis6') : await import('ioredis');
const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null, lazyConnect: true });
await redis.connect();

let closing = false;
const control = new Map();
process.on('message', (msg) => control.get(msg.type)?.(msg));
const on = (type) => new Promise((resolve) => control.set(type, resolve));
const send = (msg) => process.send(msg);

async function finish(result) {
  closing = true;
  redis.disconnect();
  process.send({ type: 'result', ...result }, () => process.exit(0));
}

switch (env.BENCH_MODE) {
  case 'group': {
    const count = Number(env.COUNT ?? 100);
    const latency = env.LATENCY === '1' ? new LatencyRecorder(Number(env.WARMUP ?? 0)) : undefined;
    let processed = 0;
    let checksum = 0;
    send({ type: 'ready' });
    on('stop').then(() => finish({ processed, checksum, latency: latency?.summary() }));
    while (!closing) {
      let reply;
      try {
        reply = await redis.xreadgroup(
          'GROUP',
          env.GROUP,
          env.CONSUMER,
          'COUNT',
          count,
          'BLOCK',
          2000,
          'STREAMS',
          env.STREAM,
          '>',
        );
      } catch (err) {
        if (closing) break;
        throw err;
      }
      if (!reply) continue;
      for (const [key, entries] of reply) {
        const ids = new Array(entries.length);
        for (let i = 0; i < entries.length; i++) {
          const [id, fields] = entries[i];
          ids[i] = id;
          const data = JSON.parse(fields[1]);
          checksum += data.n;
          latency?.record(data);
        }
        processed += entries.length;
        redis.xack(key, env.GROUP, ...ids).catch((err) => closing || console.error(err));
      }
    }
    break;
  }
  case 'xread': {
    const target = Number(env.TARGET);
    let lastId = env.START_ID ?? '0';
    let processed = 0;
    send({ type: 'ready' });
    on('stop').then(() => finish({ processed }));
    await on('go');
    while (!closing && processed < target) {
      const reply = await redis.xread('COUNT', Number(env.COUNT ?? 100), 'BLOCK', 2000, 'STREAMS', env.STREAM, lastId);
      if (!reply) continue;
      for (const [, entries] of reply) {
        for (const [id, fields] of entries) {
          lastId = id;
          JSON.parse(fields[1]);
          processed++;
        }
      }
    }
    send({ type: 'done', processed, at: nowMs() });
    break;
  }
  case 'xadd': {
    const total = Number(env.TOTAL);
    const batch = Number(env.BATCH ?? 1000);
    send({ type: 'ready' });
    on('stop').then(() => finish({}));
    await on('go');
    const started = performance.now();
    for (let sent = 0; sent < total;) {
      const pipe = redis.pipeline();
      const size = Math.min(batch, total - sent);
      for (let i = 0; i < size; i++) pipe.xadd(env.STREAM, '*', 'data', JSON.stringify(makePayload(sent + i)));
      await pipe.exec();
      sent += size;
    }
    send({ type: 'done', ms: performance.now() - started, total });
    break;
  }
  case 'xadd-cork': {
    const total = Number(env.TOTAL);
    const window = Number(env.WINDOW ?? 1000);
    send({ type: 'ready' });
    on('stop').then(() => finish({}));
    await on('go');
    const started = performance.now();
    let corked = false;
    const uncork = () => {
      corked = false;
      redis.stream.uncork();
    };
    const xadd = (n) => {
      if (!corked) {
        corked = true;
        redis.stream.cork();
        process.nextTick(uncork);
      }
      const command = new Command('xadd', [env.STREAM, '*', 'data', JSON.stringify(makePayload(n))], {
        replyEncoding: 'utf8',
      });
      redis.sendCommand(command);
      return command.promise;
    };
    let next = 0;
    const lane = async () => {
      while (next < total) await xadd(next++);
    };
    await Promise.all(Array.from({ length: window }, lane));
    send({ type: 'done', ms: performance.now() - started, total });
    break;
  }
  case 'rate': {
    const rate = Number(env.RATE);
    const duration = Number(env.DURATION);
    send({ type: 'ready' });
    on('stop').then(() => finish({}));
    await on('go');
    const started = performance.now();
    const total = Math.round((rate * duration) / 1000);
    let sent = 0;
    // Every millisecond or so, send what the schedule says should have gone out by now, stamped at send time.
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000));
      if (due > sent) {
        const pipe = redis.pipeline();
        for (; sent < due; sent++) pipe.xadd(env.STREAM, '*', 'data', JSON.stringify(makePayload(sent, nowMs())));
        pipe.exec().catch((err) => console.error(err));
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await redis.ping();
    send({ type: 'done', sent, ms: performance.now() - started });
    break;
  }
  case 'publish': {
    const total = Number(env.TOTAL);
    const batch = Number(env.BATCH ?? 1000);
    send({ type: 'ready' });
    on('stop').then(() => finish({}));
    await on('go');
    const started = performance.now();
    for (let sent = 0; sent < total;) {
      const pipe = redis.pipeline();
      const size = Math.min(batch, total - sent);
      for (let i = 0; i < size; i++) {
        pipe.publish(env.STREAM, JSON.stringify({ pattern: env.STREAM, data: makePayload(sent + i) }));
      }
      await pipe.exec();
      sent += size;
    }
    send({ type: 'done', ms: performance.now() - started, total });
    break;
  }
  default:
    throw new Error(`Unknown BENCH_MODE ${env.BENCH_MODE}; expected group, xread, xadd, rate or publish.`);
}
