#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --only consume,emit] [-- --profile] [-- --no-build]`
// Benchmarks the built library (package `nestjs-redis-streams`) against raw ioredis loops on a private redis-server.
// Scenarios (names for --only): consume, scaling, broadcast, emit, latency, memory, tracing, nestRedis, partitions,
// durability; the last two (bench/scenarios/) start Redis servers of their own: a 3-master cluster, a master + replica.
// Every scenario runs our transport and its raw baseline in the same run, interleaved over rounds; the report gives
// medians and the median of the per-round ratios. Prints a table and writes bench/results.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killAll, startWorker } from './lib/children.mjs';
import { fill, PAYLOAD_BYTES, payloadJson } from './lib/payload.mjs';
import { summarizeProfile } from './lib/profile.mjs';
import { startRedis } from './lib/redis-server.mjs';
import { groupState, redisCpu, waitDrained } from './lib/redis-info.mjs';
import { interleave, medianOf } from './lib/rounds.mjs';
import { fmtMb, fmtMs, fmtRate, fmtRatio, table } from './lib/stats.mjs';
import { durableEmit } from './scenarios/durable-emit.mjs';
import { partitionedConsume } from './scenarios/partitioned-consume.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const profile = args.includes('--profile');
const commandStats = args.includes('--commandstats');
const onlyArg = args.find((a) => a.startsWith('--only'));
const only = onlyArg
  ? (onlyArg.includes('=') ? onlyArg.split('=')[1] : args[args.indexOf(onlyArg) + 1]).split(',')
  : undefined;

const CONFIG = quick
  ? {
      entries: 20_000,
      rounds: 1,
      scaleRounds: 1,
      broadcastEntries: 20_000,
      emitTotal: 20_000,
      latencyMs: 1000,
      rates: [5000, 20000],
      memoryEntries: 100_000,
      pubsubEntries: 20_000,
      ioEntries: 10_000,
    }
  : {
      entries: 200_000,
      rounds: 5,
      scaleRounds: 3,
      broadcastEntries: 200_000,
      emitTotal: 200_000,
      latencyMs: 5000,
      rates: [5000, 20000],
      memoryEntries: 1_000_000,
      pubsubEntries: 200_000,
      ioEntries: 50_000,
    };
CONFIG.latencyRounds = quick ? 1 : 3;
const roundsArg = args.find((a) => a.startsWith('--rounds='));
if (roundsArg) CONFIG.rounds = CONFIG.scaleRounds = CONFIG.latencyRounds = Number(roundsArg.split('=')[1]);
CONFIG.count = 100;
/** What each handler waits in the I/O-bound scaling run (at the default concurrency 50: 25,000 entries/s a process). */
const IO_DELAY_MS = 2;

const NEST_WORKER = join(here, 'dist', 'src', 'nest-worker.js');
const RAW_WORKER = join(here, 'raw-worker.mjs');
const PROFILE_DIR = join(here, 'profiles');
const GROUP = 'bench-group';

const log = (line) => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let keySeq = 0;
const freshKey = (what) => `bench:${what}:${++keySeq}`;

// ---------------------------------------------------------------------------------------------------------------
// Build: the library (when its sources are newer than dist) and the TypeScript bench apps.

function newestMtime(dir) {
  let newest = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, name.name);
    newest = Math.max(newest, name.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function build() {
  const libDir = join(root, 'libs', 'redis-streams');
  const built = join(libDir, 'dist', 'esm', 'index.js');
  if (!existsSync(built) || statSync(built).mtimeMs < newestMtime(join(libDir, 'src'))) {
    log('Building the library (npm run build:lib)…');
    execFileSync('npm', ['run', 'build:lib', '--silent'], { cwd: root, stdio: 'inherit' });
  }
  log('Compiling the bench apps (bench/tsconfig.json)…');
  execFileSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(here, 'tsconfig.json')],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Workers

const IMPLS = {
  nest: { script: NEST_WORKER, env: {} },
  raw5: { script: RAW_WORKER, env: { IOREDIS: '5' } },
  raw6: { script: RAW_WORKER, env: { IOREDIS: '6' } },
};

function worker(impl, env, options) {
  const { script, env: implEnv } = IMPLS[impl];
  return startWorker(script, { REDIS_URL: redisUrl, COUNT: String(CONFIG.count), ...implEnv, ...env }, options);
}

/**
 * Consumes a pre-filled backlog of `entries` with `consumers` processes in one group. The group is created at `$`
 * after the fill, the consumers start and block, then `XGROUP SETID … 0` plus one wake-up entry hands them the whole
 * backlog at once; the clock stops when XINFO GROUPS shows every entry delivered and acknowledged.
 */
async function consumeBacklog(
  impl,
  { consumers = 1, entries = CONFIG.entries, execArgv = [], measureRss = false, env = {} } = {},
) {
  const key = freshKey(`consume-${impl}`);
  await fill(redis, key, entries);
  await redis.xgroup('CREATE', key, GROUP, '$');
  const workers = await Promise.all(
    Array.from({ length: consumers }, (_, i) =>
      worker(impl, { BENCH_MODE: 'group', STREAM: key, GROUP, CONSUMER: `${impl}-${i}`, ...env }, { execArgv }),
    ),
  );
  await sleep(200); // let every reader reach its blocking XREADGROUP
  const idleRss = measureRss ? Math.max(...workers.map((w) => w.peakRss())) : undefined;
  if (commandStats) await redis.config('RESETSTAT');
  const cpuBefore = workers.reduce((sum, w) => sum + w.cpuMs(), 0);
  const redisCpuBefore = await redisCpuMs();
  const started = performance.now();
  const [, [, wakeId]] = await redis
    .multi()
    .xgroup('SETID', key, GROUP, '0', 'ENTRIESREAD', '0')
    .xadd(key, '*', 'data', payloadJson(entries))
    .exec();
  const finished = await waitDrained(redis, key, GROUP, wakeId);
  const cpuMs = workers.reduce((sum, w) => sum + w.cpuMs(), 0) - cpuBefore;
  const redisCpu = (await redisCpuMs()) - redisCpuBefore;
  const peakRss = measureRss ? Math.max(...workers.map((w) => w.peakRss())) : undefined;
  if (commandStats) log(`  ${impl} x${consumers} Redis commands while consuming:\n${await commandsSummary()}`);
  const results = await Promise.all(workers.map((w) => w.stop()));
  const processed = results.reduce((sum, r) => sum + r.processed, 0);
  if (processed < entries + 1) throw new Error(`${impl}: ${processed} of ${entries + 1} entries reached handlers`);
  await redis.unlink(key);
  const seconds = (finished - started) / 1000;
  // CPU per entry (µs) of the consumer processes and of Redis: steadier than throughput on a shared machine.
  return {
    rate: (entries + 1) / seconds,
    seconds,
    processed,
    idleRss,
    peakRss,
    cpuUs: (1000 * cpuMs) / entries,
    redisCpuUs: (1000 * redisCpu) / entries,
  };
}

/** `readers` broadcast readers each read a pre-filled stream of `entries` from 0; the clock stops at the last one done. */
async function broadcastBacklog(impl, readers = 3, entries = CONFIG.broadcastEntries) {
  const key = freshKey(`broadcast-${impl}`);
  await fill(redis, key, entries);
  const mode = impl === 'nest' ? 'broadcast' : 'xread';
  const workers = await Promise.all(
    Array.from({ length: readers }, (_, i) =>
      worker(impl, {
        BENCH_MODE: mode,
        STREAM: key,
        TARGET: String(entries),
        START_ID: '0',
        CONSUMER: `${impl}-b${i}`,
      }),
    ),
  );
  const started = performance.timeOrigin + performance.now();
  for (const w of workers) w.send({ type: 'go' });
  const done = await Promise.all(workers.map((w) => w.next('done', 300_000)));
  const seconds = (Math.max(...done.map((d) => d.at)) - started) / 1000;
  await Promise.all(workers.map((w) => w.stop()));
  await redis.unlink(key);
  return { rate: entries / seconds, seconds };
}

/**
 * One producer process appends `total` entries: RedisStreamsClient.emit (1,000 in flight), pipelined XADD, or (mode
 * `xadd-cork`, for reference) raw XADDs written the way the client writes them.
 */
async function emitThroughput(impl, total = CONFIG.emitTotal, mode = impl === 'nest' ? 'emit' : 'xadd') {
  const key = freshKey(`emit-${impl}`);
  const w = await worker(impl, {
    BENCH_MODE: mode,
    STREAM: key,
    TOTAL: String(total),
    WINDOW: '1000',
    BATCH: '1000',
  });
  const cpuBefore = w.cpuMs();
  const redisCpuBefore = await redisCpuMs();
  w.send({ type: 'go' });
  const done = await w.next('done', 300_000);
  const cpuUs = (1000 * (w.cpuMs() - cpuBefore)) / total;
  const redisCpuUs = (1000 * ((await redisCpuMs()) - redisCpuBefore)) / total;
  await w.stop();
  const length = await redis.xlen(key);
  if (length !== total) throw new Error(`${impl} emit: stream has ${length} entries, expected ${total}`);
  await redis.unlink(key, `${key}:warm`);
  return { rate: total / (done.ms / 1000), seconds: done.ms / 1000, cpuUs, redisCpuUs };
}

/** A raw producer XADDs at `rate`/s, stamping send times; one consumer records end-to-end latencies. */
async function latencyAtRate(impl, rate, durationMs = CONFIG.latencyMs) {
  const key = freshKey(`latency-${impl}-${rate}`);
  await redis.xgroup('CREATE', key, GROUP, '$', 'MKSTREAM');
  const total = Math.round((rate * durationMs) / 1000);
  const consumer = await worker(impl, {
    BENCH_MODE: 'group',
    STREAM: key,
    GROUP,
    CONSUMER: `${impl}-lat`,
    LATENCY: '1',
    WARMUP: String(Math.floor(total / 10)),
  });
  const producer = await worker('raw5', {
    BENCH_MODE: 'rate',
    STREAM: key,
    RATE: String(rate),
    DURATION: String(durationMs),
  });
  await sleep(200);
  producer.send({ type: 'go' });
  await producer.next('done', durationMs + 60_000);
  await producer.stop();
  const [[lastId]] = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
  await waitDrained(redis, key, GROUP, lastId, { intervalMs: 10 });
  const result = await consumer.stop();
  await redis.unlink(key);
  return result.latency;
}

/** Nest's Transport.REDIS: a raw publisher sends `entries` pub/sub messages; the clock stops at the handler's last. */
async function nestRedisConsume(entries = CONFIG.pubsubEntries) {
  const channel = freshKey('pubsub');
  const consumer = await worker('nest', { BENCH_MODE: 'nest-redis', STREAM: channel, TARGET: String(entries) });
  const publisher = await worker('raw5', { BENCH_MODE: 'publish', STREAM: channel, TOTAL: String(entries) });
  // Nest subscribes once connected, which may be after listen() resolved; a message published before is lost.
  const deadline = Date.now() + 10_000;
  while (Number((await redis.pubsub('NUMSUB', channel))[1]) < 1) {
    if (Date.now() > deadline) throw new Error(`Nest's Redis transport did not subscribe to ${channel} within 10 s`);
    await sleep(20);
  }
  const started = performance.timeOrigin + performance.now();
  publisher.send({ type: 'go' });
  const done = await consumer.next('done', 300_000);
  await publisher.stop();
  await consumer.stop();
  const seconds = (done.at - started) / 1000;
  return { rate: entries / seconds, seconds };
}

async function nestRedisEmit(total = CONFIG.emitTotal) {
  const w = await worker('nest', {
    BENCH_MODE: 'nest-redis-emit',
    STREAM: freshKey('pubsub-emit'),
    TOTAL: String(total),
    WINDOW: '1000',
  });
  w.send({ type: 'go' });
  const done = await w.next('done', 300_000);
  await w.stop();
  return { rate: total / (done.ms / 1000), seconds: done.ms / 1000 };
}

const redisCpuMs = () => redisCpu(redis);

/** Calls and time per command since the last RESETSTAT (the bench's own XINFO polling included). */
async function commandsSummary() {
  const info = await redis.info('commandstats');
  return info
    .split('\n')
    .filter((l) => l.startsWith('cmdstat_'))
    .map((l) => {
      const [, name, calls, usec] = /cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(l);
      return `    ${name.padEnd(14)} calls=${calls.padStart(8)} usec=${usec.padStart(9)}`;
    })
    .join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Scenarios. Each returns { rounds, summary rows, targets } (and notes to print under the table).

const scenarios = {
  async consume() {
    const rounds = await interleave('consume x1', CONFIG.rounds, {
      nest: () => consumeBacklog('nest'),
      raw5: () => consumeBacklog('raw5'),
      raw6: () => consumeBacklog('raw6'),
    });
    const nest = medianOf(rounds, (r) => r.nest.rate);
    const raw5 = medianOf(rounds, (r) => r.raw5.rate);
    const raw6 = medianOf(rounds, (r) => r.raw6.rate);
    const ratio = medianOf(rounds, (r) => r.nest.rate / r.raw5.rate);
    shared.consumeOne = nest;
    shared.consumeOneRaw = raw5;
    const cpu = {};
    for (const impl of ['nest', 'raw5', 'raw6']) {
      cpu[impl] = medianOf(rounds, (r) => r[impl].cpuUs);
      cpu[`${impl}Redis`] = medianOf(rounds, (r) => r[impl].redisCpuUs);
    }
    return {
      rounds,
      medians: {
        nest,
        raw5,
        raw6,
        ratio,
        raw6VsRaw5: medianOf(rounds, (r) => r.raw6.rate / r.raw5.rate),
        cpuUsPerEntry: cpu,
      },
      rows: [
        ['1. consume backlog, 1 consumer', fmtRate(nest), `${fmtRate(raw5)} (ioredis 5)`, fmtRatio(ratio)],
        [
          '   CPU µs/entry: consumer + Redis',
          `${cpu.nest.toFixed(1)} + ${cpu.nestRedis.toFixed(1)}`,
          `${cpu.raw5.toFixed(1)} + ${cpu.raw5Redis.toFixed(1)}`,
          '',
        ],
        [
          '   raw loop on ioredis 6',
          fmtRate(raw6),
          `${fmtRate(raw5)} (ioredis 5)`,
          fmtRatio(medianOf(rounds, (r) => r.raw6.rate / r.raw5.rate)),
        ],
      ],
      targets: [{ name: 'consume, 1 consumer ≥ 0.8x raw', value: ratio, met: ratio >= 0.8, shown: fmtRatio(ratio) }],
    };
  },

  async scaling() {
    const rounds = await interleave('consume x2/x4', CONFIG.scaleRounds, {
      nest2: () => consumeBacklog('nest', { consumers: 2 }),
      raw2: () => consumeBacklog('raw5', { consumers: 2 }),
      nest4: () => consumeBacklog('nest', { consumers: 4 }),
      raw4: () => consumeBacklog('raw5', { consumers: 4 }),
    });
    const m = {
      nest2: medianOf(rounds, (r) => r.nest2.rate),
      raw2: medianOf(rounds, (r) => r.raw2.rate),
      nest4: medianOf(rounds, (r) => r.nest4.rate),
      raw4: medianOf(rounds, (r) => r.raw4.rate),
      ratio2: medianOf(rounds, (r) => r.nest2.rate / r.raw2.rate),
      ratio4: medianOf(rounds, (r) => r.nest4.rate / r.raw4.rate),
    };
    // The same group with handlers that wait on I/O (a timer) instead of using CPU: what a second process adds when
    // the machine has CPU to spare, which CPU-bound consumers on 2 cores cannot show.
    const ioEnv = { HANDLER_DELAY_MS: String(IO_DELAY_MS) };
    const ioRounds = await interleave(`consume, handlers waiting ${IO_DELAY_MS} ms`, CONFIG.scaleRounds, {
      io1: () => consumeBacklog('nest', { entries: CONFIG.ioEntries, env: ioEnv }),
      io2: () => consumeBacklog('nest', { consumers: 2, entries: CONFIG.ioEntries, env: ioEnv }),
    });
    m.io1 = medianOf(ioRounds, (r) => r.io1.rate);
    m.io2 = medianOf(ioRounds, (r) => r.io2.rate);
    m.ioScale2 = medianOf(ioRounds, (r) => r.io2.rate / r.io1.rate);
    const one = shared.consumeOne;
    m.scale2 = one ? m.nest2 / one : NaN;
    m.scale4 = one ? m.nest4 / one : NaN;
    m.rawScale2 = shared.consumeOneRaw ? m.raw2 / shared.consumeOneRaw : NaN;
    return {
      rounds,
      medians: m,
      rows: [
        [
          '2. consume, 2 processes',
          fmtRate(m.nest2),
          fmtRate(m.raw2),
          `${fmtRatio(m.ratio2)} (scaling ${fmtRatio(m.scale2)} of 1; raw ${fmtRatio(m.rawScale2)})`,
        ],
        [
          '   consume, 4 processes',
          fmtRate(m.nest4),
          fmtRate(m.raw4),
          `${fmtRatio(m.ratio4)} (scaling ${fmtRatio(m.scale4)} of 1)`,
        ],
        [
          `   I/O-bound handlers (${IO_DELAY_MS} ms each), 1 → 2 processes`,
          `${fmtRate(m.io1)} → ${fmtRate(m.io2)}`,
          '',
          `scaling ${fmtRatio(m.ioScale2)}`,
        ],
      ],
      targets: [{ name: '2 processes ≥ 1.5x one', value: m.scale2, met: m.scale2 >= 1.5, shown: fmtRatio(m.scale2) }],
    };
  },

  async broadcast() {
    const rounds = await interleave('broadcast x3', CONFIG.scaleRounds, {
      nest: () => broadcastBacklog('nest'),
      raw5: () => broadcastBacklog('raw5'),
    });
    const m = {
      nest: medianOf(rounds, (r) => r.nest.rate),
      raw5: medianOf(rounds, (r) => r.raw5.rate),
      ratio: medianOf(rounds, (r) => r.nest.rate / r.raw5.rate),
    };
    return {
      rounds,
      medians: m,
      rows: [['3. broadcast to 3 (per reader)', fmtRate(m.nest), fmtRate(m.raw5), fmtRatio(m.ratio)]],
      targets: [],
    };
  },

  async emit() {
    const rounds = await interleave('emit', CONFIG.scaleRounds, {
      nest: () => emitThroughput('nest'),
      raw5: () => emitThroughput('raw5'),
      rawCork: () => emitThroughput('raw5', CONFIG.emitTotal, 'xadd-cork'),
    });
    const m = {
      nest: medianOf(rounds, (r) => r.nest.rate),
      raw5: medianOf(rounds, (r) => r.raw5.rate),
      rawCork: medianOf(rounds, (r) => r.rawCork.rate),
      ratio: medianOf(rounds, (r) => r.nest.rate / r.raw5.rate),
      corkRatio: medianOf(rounds, (r) => r.nest.rate / r.rawCork.rate),
    };
    m.nestCpuUs = medianOf(rounds, (r) => r.nest.cpuUs);
    m.raw5CpuUs = medianOf(rounds, (r) => r.raw5.cpuUs);
    m.rawCorkCpuUs = medianOf(rounds, (r) => r.rawCork.cpuUs);
    return {
      rounds,
      medians: m,
      rows: [
        ['4. emit (1,000 in flight) vs pipelined XADD', fmtRate(m.nest), fmtRate(m.raw5), fmtRatio(m.ratio)],
        ['   CPU µs/entry of the producer', m.nestCpuUs.toFixed(1), m.raw5CpuUs.toFixed(1), ''],
        ['   vs raw corked XADD, 1,000 in flight', fmtRate(m.nest), fmtRate(m.rawCork), fmtRatio(m.corkRatio)],
        ['   CPU µs/entry of the producer', m.nestCpuUs.toFixed(1), m.rawCorkCpuUs.toFixed(1), ''],
      ],
      targets: [
        { name: 'emit ≥ 0.8x raw pipelined XADD', value: m.ratio, met: m.ratio >= 0.8, shown: fmtRatio(m.ratio) },
      ],
    };
  },

  async latency() {
    const out = { rounds: {}, medians: {}, rows: [], targets: [] };
    for (const rate of CONFIG.rates) {
      const rounds = await interleave(`latency @${rate}/s`, CONFIG.latencyRounds, {
        nest: async () => await latencyAtRate('nest', rate),
        raw5: async () => await latencyAtRate('raw5', rate),
      });
      const m = {};
      for (const impl of ['nest', 'raw5']) {
        for (const p of ['p50', 'p99', 'p999']) m[`${impl}_${p}`] = medianOf(rounds, (r) => r[impl][p]);
      }
      m.p99Ratio = medianOf(rounds, (r) => r.nest.p99 / r.raw5.p99);
      out.rounds[rate] = rounds;
      out.medians[rate] = m;
      out.rows.push([
        `5. latency @ ${rate}/s p50 / p99 / p99.9`,
        `${fmtMs(m.nest_p50)} / ${fmtMs(m.nest_p99)} / ${fmtMs(m.nest_p999)}`,
        `${fmtMs(m.raw5_p50)} / ${fmtMs(m.raw5_p99)} / ${fmtMs(m.raw5_p999)}`,
        `p99 ${fmtRatio(m.p99Ratio)}`,
      ]);
      if (rate === 5000) {
        out.targets.push({
          name: 'latency p99 @5,000/s within 2x raw',
          value: m.p99Ratio,
          met: m.p99Ratio <= 2,
          shown: fmtRatio(m.p99Ratio),
        });
      }
    }
    return out;
  },

  async memory() {
    const entries = CONFIG.memoryEntries;
    const rounds = await interleave(`memory ${entries} backlog`, 1, {
      nest: () => consumeBacklog('nest', { entries, measureRss: true }),
      raw5: () => consumeBacklog('raw5', { entries, measureRss: true }),
    });
    const [r] = rounds;
    const limit = 150 * 1024 * 1024;
    return {
      rounds,
      medians: {
        nestPeakRss: r.nest.peakRss,
        rawPeakRss: r.raw5.peakRss,
        nestIdleRss: r.nest.idleRss,
        rawIdleRss: r.raw5.idleRss,
        nestRate: r.nest.rate,
        rawRate: r.raw5.rate,
      },
      rows: [
        [
          `6. peak RSS consuming ${entries.toLocaleString('en')} backlog`,
          `${fmtMb(r.nest.peakRss)} (${fmtRate(r.nest.rate)})`,
          `${fmtMb(r.raw5.peakRss)} (${fmtRate(r.raw5.rate)})`,
          '',
        ],
        ['   RSS of the started process, before', fmtMb(r.nest.idleRss), fmtMb(r.raw5.idleRss), ''],
      ],
      targets: [
        {
          name: `peak RSS < 150 MB (${entries.toLocaleString('en')} backlog)`,
          value: r.nest.peakRss,
          met: r.nest.peakRss < limit,
          shown: fmtMb(r.nest.peakRss),
        },
      ],
    };
  },

  /** The tracing observer registered with no tracer provider (what apps pay for being ready), and recording spans. */
  async tracing() {
    const rounds = await interleave('consume x1 traced', CONFIG.rounds, {
      plain: () => consumeBacklog('nest'),
      idle: () => consumeBacklog('nest', { env: { TRACING: 'idle' } }),
      recording: () => consumeBacklog('nest', { env: { TRACING: 'recording' } }),
    });
    const m = {
      plain: medianOf(rounds, (r) => r.plain.rate),
      idle: medianOf(rounds, (r) => r.idle.rate),
      recording: medianOf(rounds, (r) => r.recording.rate),
      idleRatio: medianOf(rounds, (r) => r.idle.rate / r.plain.rate),
      recordingRatio: medianOf(rounds, (r) => r.recording.rate / r.plain.rate),
      cpuUsPerEntry: Object.fromEntries(
        ['plain', 'idle', 'recording'].map((name) => [name, medianOf(rounds, (r) => r[name].cpuUs)]),
      ),
    };
    const cpu = m.cpuUsPerEntry;
    return {
      rounds,
      medians: m,
      rows: [
        [
          '8. consume, tracing observer, no provider',
          fmtRate(m.idle),
          `${fmtRate(m.plain)} (ours, no observer)`,
          fmtRatio(m.idleRatio),
        ],
        [
          '   consume, spans recorded (then dropped)',
          fmtRate(m.recording),
          `${fmtRate(m.plain)} (ours, no observer)`,
          fmtRatio(m.recordingRatio),
        ],
        [
          '   CPU µs/entry: no provider / recording',
          `${cpu.idle.toFixed(1)} / ${cpu.recording.toFixed(1)}`,
          `${cpu.plain.toFixed(1)} (no observer)`,
          '',
        ],
      ],
      targets: [
        {
          name: 'tracing without a provider ≥ 0.95x untraced',
          value: m.idleRatio,
          met: m.idleRatio >= 0.95,
          shown: fmtRatio(m.idleRatio),
        },
      ],
    };
  },

  async nestRedis() {
    const rounds = await interleave("Nest's Transport.REDIS", CONFIG.scaleRounds, {
      pubsubConsume: () => nestRedisConsume(),
      raw5: () => consumeBacklog('raw5', { entries: CONFIG.pubsubEntries }),
      pubsubEmit: () => nestRedisEmit(),
      rawXadd: () => emitThroughput('raw5'),
    });
    const m = {
      consume: medianOf(rounds, (r) => r.pubsubConsume.rate),
      raw5: medianOf(rounds, (r) => r.raw5.rate),
      consumeRatio: medianOf(rounds, (r) => r.pubsubConsume.rate / r.raw5.rate),
      emit: medianOf(rounds, (r) => r.pubsubEmit.rate),
      rawXadd: medianOf(rounds, (r) => r.rawXadd.rate),
      emitRatio: medianOf(rounds, (r) => r.pubsubEmit.rate / r.rawXadd.rate),
    };
    return {
      rounds,
      medians: m,
      rows: [
        [
          '7. Nest Transport.REDIS consume (ref.)',
          fmtRate(m.consume),
          `${fmtRate(m.raw5)} (XREADGROUP)`,
          fmtRatio(m.consumeRatio),
        ],
        ['   Nest Transport.REDIS emit (ref.)', fmtRate(m.emit), `${fmtRate(m.rawXadd)} (XADD)`, fmtRatio(m.emitRatio)],
      ],
      targets: [],
    };
  },

  /** A partitioned stream on a 3-master cluster, 1/2/4 processes, against one stream and one process. */
  partitions: () => partitionedConsume(scenarioContext),

  /** Emits confirmed by a replica (`durability`) against plain emits, on a master with one replica. */
  durability: () => durableEmit(scenarioContext),
};
const shared = {};
/** What the scenarios in bench/scenarios/ use; they start their own Redis servers. */
const scenarioContext = {
  config: CONFIG,
  freshKey,
  nestWorker: (env) => startWorker(NEST_WORKER, { COUNT: String(CONFIG.count), ...env }),
};

/** Consumes one backlog through the Nest worker under --cpu-prof and summarises where the time went. */
async function profileConsume(impl) {
  const dir = join(PROFILE_DIR, impl);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const result = await consumeBacklog(impl, { execArgv: ['--cpu-prof', '--cpu-prof-dir', dir] });
  await sleep(500);
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error('No CPU profile was written');
  const summary = summarizeProfile(JSON.parse(readFileSync(join(dir, files[0]), 'utf8')), root);
  return { rate: result.rate, profile: join('bench', 'profiles', impl, files[0]), ...summary };
}

// ---------------------------------------------------------------------------------------------------------------

function versions() {
  const pkg = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  let redisVersion = 'unknown';
  try {
    redisVersion = /v=(\S+)/.exec(
      execFileSync(process.env.REDIS_SERVER_BIN ?? 'redis-server', ['--version'], { encoding: 'utf8' }),
    )[1];
  } catch {
    // reported as unknown
  }
  return {
    cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
    memory: `${Math.round(totalmem() / 1024 ** 3)} GiB`,
    node: process.version,
    redis: redisVersion,
    ioredis: pkg('ioredis'),
    ioredis6: pkg('ioredis6'),
    nestMicroservices: pkg('@nestjs/microservices'),
    library: pkg('nestjs-redis-streams'),
  };
}

let redisUrl;
let redis;

async function main() {
  const unknown = (only ?? []).filter((name) => !Object.hasOwn(scenarios, name));
  if (unknown.length > 0) {
    console.error(`--only: no scenario ${unknown.join(', ')}; the scenarios are ${Object.keys(scenarios).join(', ')}.`);
    process.exitCode = 2;
    return;
  }
  if (!args.includes('--no-build')) build();
  const started = Date.now();
  const server = await startRedis();
  redisUrl = server.url;
  redis = server.client();
  const machine = versions();
  log(
    `Private redis-server ${machine.redis} on port ${server.port}; ${quick ? 'quick' : 'full'} run; payload ${PAYLOAD_BYTES} bytes, COUNT ${CONFIG.count}; ${machine.cpu}.`,
  );
  const results = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    machine,
    config: CONFIG,
    scenarios: {},
    errors: {},
  };
  const rows = [];
  const targets = [];
  const notes = [];
  try {
    for (const [name, run] of Object.entries(scenarios)) {
      if (only && !only.includes(name)) continue;
      log(`\n== ${name}`);
      try {
        const out = await run();
        results.scenarios[name] = { rounds: out.rounds, medians: out.medians };
        rows.push(...out.rows);
        targets.push(...out.targets);
        notes.push(...(out.notes ?? []));
      } catch (err) {
        killAll();
        results.errors[name] = err.stack ?? String(err);
        log(`  ${name} FAILED: ${err.message}`);
      }
    }
    if (profile) {
      results.profiles = {};
      for (const impl of ['nest', 'raw5']) {
        log(`\n== CPU profile of one ${impl} consumer (node --cpu-prof)`);
        results.profiles[impl] = await profileConsume(impl);
        log(`${fmtRate(results.profiles[impl].rate)} under the profiler. ${results.profiles[impl].text}`);
      }
    }
  } finally {
    redis.disconnect();
    await server.stop();
  }
  results.seconds = (Date.now() - started) / 1000;
  results.targets = targets;
  writeFileSync(join(here, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  log(`\nResults (medians; ratio = median of per-round ours/raw), ${results.seconds.toFixed(0)} s:\n`);
  log(table(['scenario', 'nestjs-redis-streams', 'raw ioredis', 'ratio'], rows));
  for (const note of notes) log(note);
  log('');
  log(
    table(
      ['target', 'value', 'met'],
      targets.map((t) => [t.name, t.shown, t.met ? 'yes' : 'NO']),
    ),
  );
  log(`\nWrote bench/results.json`);
  const failed = Object.keys(results.errors);
  if (failed.length > 0) {
    log(`Scenarios that failed: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}

// So that the exit handlers kill every worker and redis-server this run started when it is interrupted.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
