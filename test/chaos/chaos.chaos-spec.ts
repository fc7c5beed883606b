// Chaos suite: three real consumer processes (test/chaos/chaos-worker.mjs, importing the BUILT library) in one group,
// against a real redis-server with an append-only file, while consumers are killed with SIGKILL and restarted, one is
// frozen past minIdleTime, Redis crashes and restarts, and the consumers' connections are dropped. The assertions read only what Redis recorded.
// See docs/chaos.md for what is measured and why the duplicate bound is what it is.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { DEAD_LETTER_FIELDS, RedisStreamsClient } from 'nestjs-redis-streams';
import { randomName, RedisServer } from '../support/redis-server.js';
import { type Fault, FaultInjector, seededRandom } from './chaos-faults.js';
import { WorkerPool, type ChaosWorkerEnv } from './chaos-processes.js';
import { produce } from './chaos-producer.js';
import { type ChaosTally, tally, waitUntilReadersRead, waitUntilSettled } from './chaos-tally.js';

const STREAM = 'jobs';
const GROUP = 'chaos';
const WORKERS = 3;
const COUNT = 32;
const CONCURRENCY = 16;
const MIN_IDLE_MS = 2000;

function summary(t: ChaosTally, faults: { kills: number; restarts: number; drops: number }, extra: string): string {
  return (
    `chaos: entries=${t.entries} processed=${t.processed} duplicates=${t.duplicates} lost=${t.lost} ` +
    `dead-lettered=${t.deadLetters.length} kills=${faults.kills} restarts=${faults.restarts} drops=${faults.drops} ${extra}`
  );
}

/** The fault schedule, from a comma-separated list (CHAOS_FAULTS overrides the default to explore other mixes). */
function faultSchedule(list: string): Fault[] {
  const faults = list.split(',').map((f) => f.trim());
  const unknown = faults.filter((f) => !['kill', 'freeze', 'restart', 'drop'].includes(f));
  if (unknown.length > 0)
    throw new Error(`CHAOS_FAULTS may list kill, freeze, restart and drop; got ${unknown.join(', ')}.`);
  if (!faults.includes('freeze'))
    throw new Error('CHAOS_FAULTS needs a freeze: it is what makes handlers complete twice.');
  return faults as Fault[];
}

describe('chaos: a consumer group of three processes', () => {
  let redis: RedisServer;
  let admin: Redis;
  let client: RedisStreamsClient | undefined;
  let pool: WorkerPool | undefined;
  const logDir = mkdtempSync(join(tmpdir(), 'redis-streams-chaos-'));
  let passed = 0;

  beforeAll(async () => {
    // SIGKILL restarts with `appendfsync always`: a crash, not a polite shutdown, yet every write a client saw
    // acknowledged is on disk, so whatever goes missing afterwards is the transport's fault.
    redis = await RedisServer.start({ appendOnly: true, args: ['--appendfsync', 'always'] });
    admin = redis.client();
    expect(await admin.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
  });
  afterEach(async () => {
    await pool?.stopAll();
    pool = undefined;
    await client?.close();
    client = undefined;
  });
  afterAll(async () => {
    admin?.disconnect();
    await redis?.stop();
    // The workers' logs are kept only when something failed (the failure message names them) or on request.
    if (passed === 2 && !process.env.CHAOS_KEEP_LOGS) rmSync(logDir, { recursive: true, force: true });
  });

  function workerEnv(run: string, overrides: Partial<ChaosWorkerEnv> = {}): ChaosWorkerEnv {
    return {
      CHAOS_REDIS_URL: redis.url,
      CHAOS_RUN: run,
      CHAOS_STREAM: STREAM,
      CHAOS_GROUP: GROUP,
      CHAOS_COUNT: String(COUNT),
      CHAOS_CONCURRENCY: String(CONCURRENCY),
      CHAOS_MIN_IDLE_MS: String(MIN_IDLE_MS),
      CHAOS_CLAIM_INTERVAL_MS: '500',
      ...overrides,
    };
  }

  it('handles every entry at least once and applies its effects exactly once through kills, a freeze, a Redis crash and dropped connections', async () => {
    const run = randomName('chaos');
    const key = `${run}:${STREAM}`;
    const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const total = Number(process.env.CHAOS_ENTRIES ?? 20_000);
    // Kills add a delivery to what the killed worker held, and a dropped read can add one that reached no handler; a
    // cap this high keeps chaos itself from dead-lettering an entry, while a real redelivery loop still would.
    // Handlers take 0–100 ms, so each worker has several entries in its handlers when a fault strikes.
    pool = new WorkerPool(WORKERS, workerEnv(run, { CHAOS_MAX_DELIVERIES: '20', CHAOS_WORK_MS: '100' }), logDir);
    await pool.startAll();
    client = new RedisStreamsClient({ connection: redis.url, keyPrefix: `${run}:` });
    await client.connect();

    const faults = faultSchedule(process.env.CHAOS_FAULTS ?? 'kill,drop,kill,freeze,kill,restart,drop,kill,drop,kill');
    const productionMs = 45_000;
    const injector = new FaultInjector(redis, admin, pool, key, GROUP, seededRandom(seed), MIN_IDLE_MS);
    // Both run to their end before a failure of either is reported, so no write outlives the test.
    const outcomes = await Promise.allSettled([
      produce(client, STREAM, { total, durationMs: productionMs }),
      injector.run(faults, productionMs / (faults.length + 1)),
    ]);
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;

    await waitUntilSettled(
      admin,
      run,
      key,
      GROUP,
      (entries) => entries,
      120_000,
      () => pool!.tail(),
    );
    // Every worker, including those never killed, came back from the Redis crash and the drops to reading.
    await waitUntilReadersRead(admin, pool.consumers, 15_000);
    // A graceful stop lets a handler still running on an entry another worker took over finish its at-least-once
    // write, so the duplicate count read below is final.
    await pool.stopAll();

    const t = await tally(admin, run, key, GROUP, `${key}:dead`);
    const { kills, freezes, restarts, drops, droppedConnections } = injector.counts;
    const extra = `freezes=${freezes} completed-twice=${t.completedTwice} max-runs=${t.maxRuns} dropped-connections=${droppedConnections} seed=${seed}`;
    process.stdout.write(`\n${summary(t, injector.counts, extra)}\n`);
    const planned = (fault: Fault): number => faults.filter((f) => f === fault).length;
    expect({ kills, freezes, restarts, drops }).toEqual({
      kills: planned('kill'),
      freezes: planned('freeze'),
      restarts: planned('restart'),
      drops: planned('drop'),
    });

    // The producer's own writes: every seq is in the stream (a resent XADD after the Redis crash may add a copy,
    // which is then simply one more entry to process).
    const seqs = new Set(t.stream.map((e) => (JSON.parse(e.fields.data) as { seq: number }).seq));
    expect(seqs.size).toBe(total);
    expect(t.entries).toBeGreaterThanOrEqual(total);

    expect({ lost: t.lost, pending: t.pending, deadLettered: t.deadLetters.length }).toEqual({
      lost: 0,
      pending: 0,
      deadLettered: 0,
    });
    expect(t.processed).toBe(t.entries);
    // Exactly-once: one effect per entry, never two, however many times its handler ran. The freeze guarantees
    // entries whose handler returned twice (the frozen worker finishes entries the others took over), so this is
    // tested against real second offers of the same effects, not only against handlers cut short by a kill.
    expect(t.completedTwice).toBeGreaterThan(0);
    expect(t.effectCount).toBe(t.entries);
    expect(t.effectEntries).toBe(t.entries);
    expect(t.effectMismatches).toEqual([]);
    // Handlers that ran twice are bounded by what could be in flight when a fault struck: a worker holds at most
    // 2 × COUNT + CONCURRENCY entries (it reads, or claims, only while fewer than COUNT wait to start: one batch ahead),
    // plus up to CONCURRENCY finished ones whose ack was still on the wire. A kill hits one worker; a Redis crash or a
    // connection drop hits all of them at once (and can let a claim race a live worker's refresh); a freeze hands all
    // the frozen worker holds to the others while it will still finish it.
    const perWorker = 2 * COUNT + 2 * CONCURRENCY;
    const bound = (kills + freezes + WORKERS * (restarts + drops)) * perWorker;
    expect(t.duplicates).toBeLessThanOrEqual(bound);
    passed++;
  });

  it('dead-letters a poison entry after maxDeliveries, with its fields and origin, while every other entry flows', async () => {
    const run = randomName('chaos');
    const key = `${run}:${STREAM}`;
    const deadKey = `${key}:dead`;
    const total = 3000;
    const poisonSeq = 1234;
    const maxDeliveries = 3;
    pool = new WorkerPool(
      WORKERS,
      workerEnv(run, { CHAOS_MAX_DELIVERIES: String(maxDeliveries), CHAOS_RETRY_MS: '100' }),
      logDir,
    );
    await pool.startAll();
    client = new RedisStreamsClient({ connection: redis.url, keyPrefix: `${run}:` });
    await client.connect();

    const ids = await produce(client, STREAM, {
      total,
      durationMs: 3000,
      payload: (seq) => (seq === poisonSeq ? { seq, poison: true } : { seq }),
    });
    const poisonId = ids[poisonSeq];
    await waitUntilSettled(
      admin,
      run,
      key,
      GROUP,
      (entries) => entries - 1,
      60_000,
      () => pool!.tail(),
    );
    await pool.stopAll();

    const t = await tally(admin, run, key, GROUP, deadKey);
    process.stdout.write(
      `\n${summary(t, { kills: 0, restarts: 0, drops: 0 }, `poison=${poisonId} max-runs=${t.maxRuns}`)}\n`,
    );

    expect(t.entries).toBe(total);
    expect({ lost: t.lost, pending: t.pending }).toEqual({ lost: 0, pending: 0 });
    expect(t.effectCount).toBe(total - 1);
    expect(t.effectEntries).toBe(total - 1);
    expect(t.effectMismatches).toEqual([]);
    // The poison entry's handler ran exactly maxDeliveries times, then it was moved out.
    expect(t.runs.get(poisonId)).toBe(maxDeliveries);

    expect(t.deadLetters).toHaveLength(1);
    const [dead] = t.deadLetters;
    const original = t.stream.find((e) => e.id === poisonId)!;
    expect(original.fields).toEqual({ data: JSON.stringify({ seq: poisonSeq, poison: true }) });
    expect(dead.fields).toEqual({
      ...original.fields,
      [DEAD_LETTER_FIELDS.stream]: key,
      [DEAD_LETTER_FIELDS.id]: poisonId,
      [DEAD_LETTER_FIELDS.group]: GROUP,
      [DEAD_LETTER_FIELDS.consumer]: expect.stringMatching(/^worker-[1-3]$/),
      [DEAD_LETTER_FIELDS.deliveries]: String(maxDeliveries),
      [DEAD_LETTER_FIELDS.reason]: expect.stringContaining(`poison entry seq=${poisonSeq} is always rejected`),
      [DEAD_LETTER_FIELDS.at]: expect.any(String),
    });
    passed++;
  });
});
