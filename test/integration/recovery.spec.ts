import { type ChildProcess, spawn } from 'node:child_process';
import type { Redis } from 'ioredis';
import { RpcException } from '@nestjs/microservices';
import { RedisStreamsClient, RedisStreamsExceptionFilter, type RedisStreamsServerOptions } from 'nestjs-redis-streams';
import { fieldsToObject, groupHandler, pendingCount, sleep } from '../support/handlers.js';
import { waitFor } from '../support/redis-server.js';
import { useStreamFixture } from '../support/stream-fixture.js';

/** Guards of FAILURE-MODES.md items 5–9: pending recovery, claiming, refresh, delivery caps, trimmed entries. */
describe('recovery and delivery caps', () => {
  const fx = useStreamFixture({ group: 'G', claimInterval: 0, consumerIdleTimeout: 0 });
  let admin: Redis;
  let client: RedisStreamsClient;
  let prefix: string;
  let key: string;
  beforeEach(() => {
    ({ admin, client, prefix } = fx);
    key = fx.key('Jobs');
  });

  async function start(
    behaviour: Parameters<typeof groupHandler>[1],
    options: RedisStreamsServerOptions = {},
    extras = {},
    filters: RedisStreamsExceptionFilter[] = [],
  ) {
    return fx.start([groupHandler('Jobs', behaviour, extras)], options, { filters });
  }

  it('leaves a failed entry pending and retries it with a growing delay, counting deliveries', async () => {
    const attempts: { delivery: number; at: number }[] = [];
    await start(
      (_, ctx) => {
        attempts.push({ delivery: ctx.getDeliveryCount(), at: Date.now() });
        if (attempts.length < 3) throw new Error('not yet');
      },
      { retryBackoff: (n) => 150 * n },
    );
    await client.dispatch('Jobs', { job: 1 });
    await waitFor(() => attempts.length === 3, 'third attempt');
    await waitFor(async () => (await pendingCount(admin, key, 'G')) === 0, 'acked after success');
    expect(attempts.map((a) => a.delivery)).toEqual([1, 2, 3]);
    // "no sooner than" the backoff: a semantic guarantee, not a speed measurement.
    expect(attempts[1].at - attempts[0].at).toBeGreaterThanOrEqual(150);
    expect(attempts[2].at - attempts[1].at).toBeGreaterThanOrEqual(300);
  });

  it('moves an entry to the dead-letter stream after maxDeliveries, with its fields, error and origin, and keeps going', async () => {
    let poisonRuns = 0;
    const good: unknown[] = [];
    const service = await start(
      (data) => {
        if ((data as { poison?: boolean }).poison) {
          poisonRuns++;
          throw new RpcException('cannot handle poison');
        }
        good.push(data);
      },
      { maxDeliveries: 3, retryBackoff: () => 20 },
    );
    const poisonId = await client.dispatch('Jobs', { poison: true });
    for (let i = 0; i < 20; i++) await client.dispatch('Jobs', { i });
    await waitFor(async () => (await admin.xlen(`${key}:dead`)) === 1, 'dead letter');
    await waitFor(() => good.length === 20, 'the rest flows');
    await waitFor(async () => (await pendingCount(admin, key, 'G')) === 0, 'nothing pending');
    expect(poisonRuns).toBe(3);
    const [[, fields]] = await admin.xrange(`${key}:dead`, '-', '+');
    const dead = fieldsToObject(fields);
    expect(dead).toMatchObject({
      'dl:stream': key,
      'dl:id': poisonId,
      'dl:group': 'G',
      'dl:consumer': service.server.consumer,
      'dl:deliveries': '3',
      'dl:reason': 'cannot handle poison',
      data: '{"poison":true}',
    });
  });

  it('lets a per-handler maxDeliveries override the server default', async () => {
    let runs = 0;
    await start(
      () => {
        runs++;
        throw new Error('always');
      },
      { maxDeliveries: 10, retryBackoff: () => 10 },
      { maxDeliveries: 1 },
    );
    await client.dispatch('Jobs', { x: 1 });
    await waitFor(async () => (await admin.xlen(`${key}:dead`)) === 1, 'dead letter after one delivery');
    expect(runs).toBe(1);
  });

  it('makes a restarted consumer handle its own pending entries first', async () => {
    await start(
      () => {
        throw new Error('crash-like failure');
      },
      { consumer: 'stable', retryBackoff: () => 60_000 },
    );
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await client.dispatch('Jobs', { i }));
    await waitFor(async () => (await pendingCount(admin, key, 'G')) === 5, 'five pending');
    await fx.closeServices();

    const seen: { id: string; delivery: number }[] = [];
    await start((_, ctx) => void seen.push({ id: ctx.getId(), delivery: ctx.getDeliveryCount() }), {
      consumer: 'stable',
    });
    await waitFor(() => seen.length === 5, 'pending entries recovered');
    expect(seen.map((s) => s.id)).toEqual(ids);
    expect(seen.every((s) => s.delivery === 2)).toBe(true);
    await waitFor(async () => (await pendingCount(admin, key, 'G')) === 0, 'all acked');
  });

  it('claims entries left pending by a dead consumer once they are idle longer than minIdleTime', async () => {
    await admin.xgroup('CREATE', key, 'G', '$', 'MKSTREAM');
    for (let i = 0; i < 3; i++) await client.dispatch('Jobs', { i });
    await admin.xreadgroup('GROUP', 'G', 'dead-consumer', 'COUNT', 10, 'STREAMS', key, '>');
    const seen: number[] = [];
    const alive = await start((_, ctx) => void seen.push(ctx.getDeliveryCount()), {
      minIdleTime: 200,
      claimInterval: 50,
    });
    await waitFor(() => seen.length === 3, 'claimed entries handled');
    expect(seen).toEqual([2, 2, 2]);
    await waitFor(async () => (await pendingCount(admin, key, 'G')) === 0, 'acked by the claimer');
    expect(alive.server.consumer).not.toBe('dead-consumer');
  });

  it("claims a dead consumer's entries even while it is busy with a backlog of its own", async () => {
    await admin.xgroup('CREATE', key, 'G', '$', 'MKSTREAM');
    const orphan = await client.dispatch('Jobs', { orphan: true });
    await admin.xreadgroup('GROUP', 'G', 'dead-consumer', 'COUNT', 10, 'STREAMS', key, '>');
    const pipeline = admin.pipeline();
    for (let i = 0; i < 500; i++) pipeline.xadd(key, '*', 'data', JSON.stringify({ i }));
    await pipeline.exec();
    const order: string[] = [];
    // Slow handlers and one slot: the reader always has entries queued, so it rarely has room to spare.
    await start(
      async (_, ctx) => {
        order.push(ctx.getId());
        await sleep(20);
      },
      { minIdleTime: 100, claimInterval: 50, count: 10, concurrency: 1 },
    );
    await waitFor(() => order.includes(orphan) || order.length >= 150, 'orphan claimed or 150 handled', 15_000);
    expect(order.indexOf(orphan)).toBeGreaterThan(-1);
    expect(order.indexOf(orphan)).toBeLessThan(50);
  });

  it('keeps a slow handler from being claimed and run twice at the same time', async () => {
    const runs: string[] = [];
    const slow = (_: unknown, ctx: { getConsumer(): string }) => {
      runs.push(ctx.getConsumer());
      return sleep(1500);
    };
    const options = { minIdleTime: 300, claimInterval: 50 };
    await start(slow, options);
    await start(slow, options);
    await client.dispatch('Jobs', { slow: true });
    await waitFor(
      async () => runs.length >= 1 && (await pendingCount(admin, key, 'G')) === 0,
      'slow entry acked',
      5000,
    );
    await sleep(300);
    expect(runs).toHaveLength(1);
  });

  it('never acks an entry that another consumer claimed while this process was stalled', async () => {
    let claimer: ChildProcess | undefined;
    await start(
      (_, ctx) => {
        // Another process claims the entry the way a live consumer of the group would (XAUTOCLAIM past minIdleTime)
        // while this process is stalled (a long GC pause, a blocked event loop): no refresh can run meanwhile.
        claimer = spawn('sh', [
          '-c',
          `sleep 0.6 && redis-cli -p ${fx.redis.port} XAUTOCLAIM ${ctx.getKey()} G other-consumer 300 0 COUNT 10`,
        ]);
        const until = Date.now() + 1200;
        while (Date.now() < until) {
          // stalled
        }
      },
      { minIdleTime: 300 },
    );
    const id = await client.dispatch('Jobs', { contested: true });
    await waitFor(() => claimer !== undefined, 'handler ran');
    await new Promise((resolve) => claimer!.once('exit', resolve));
    await sleep(200);
    const pending = (await admin.xpending(key, 'G', '-', '+', 10)) as [string, string, number, number][];
    expect(pending).toHaveLength(1);
    expect(pending[0][0]).toBe(id);
    expect(pending[0][1]).toBe('other-consumer');
  });

  it('does not run a queued entry that another consumer took over meanwhile', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const ran: string[] = [];
    await admin.xgroup('CREATE', key, 'G', '$', 'MKSTREAM');
    const first = await client.dispatch('Jobs', { n: 1 });
    const second = await client.dispatch('Jobs', { n: 2 });
    await start(
      (_, ctx) => {
        ran.push(ctx.getId());
        return ran.length === 1 ? released : undefined;
      },
      { concurrency: 1, minIdleTime: 300 },
    );
    await waitFor(() => ran.length === 1, 'first running, second queued behind it');
    await admin.xclaim(key, 'G', 'other-consumer', 0, second);
    await sleep(300); // a refresh (every minIdleTime / 3) notices the second is no longer this consumer's
    release();
    await sleep(200);
    expect(ran).toEqual([first]);
  });

  it('acks and reports pending entries whose bodies were trimmed, without calling the handler', async () => {
    await start(
      () => {
        throw new Error('fail');
      },
      { consumer: 'trimmed', retryBackoff: () => 60_000 },
    );
    const id = await client.dispatch('Jobs', { doomed: true });
    await waitFor(async () => (await pendingCount(admin, key, 'G')) === 1, 'pending');
    await fx.closeServices();
    await admin.xdel(key, id);
    const handled: unknown[] = [];
    await start((data) => void handled.push(data), { consumer: 'trimmed' });
    await waitFor(async () => (await pendingCount(admin, key, 'G')) === 0, 'trimmed id acked');
    await client.dispatch('Jobs', { after: true });
    await waitFor(() => handled.length === 1, 'next entry handled');
    expect(handled).toEqual([{ after: true }]);
  });

  it("records a plain error's own message as the dead-letter reason when RedisStreamsExceptionFilter is registered", async () => {
    const service = await start(
      () => {
        throw new TypeError('field "to" is missing');
      },
      { maxDeliveries: 1 },
      {},
      [new RedisStreamsExceptionFilter()],
    );
    expect(service.server.consumer).toBeTruthy();
    await client.dispatch('Jobs', { x: 1 });
    await waitFor(async () => (await admin.xlen(`${key}:dead`)) === 1, 'dead-lettered');
    const [[, fields]] = await admin.xrange(`${key}:dead`, '-', '+');
    expect(fieldsToObject(fields)['dl:reason']).toBe('field "to" is missing');
  });

  it('lists and replays dead letters onto their stream', async () => {
    const { DeadLetters } = await import('nestjs-redis-streams');
    let fail = true;
    const handled: unknown[] = [];
    await start(
      (data) => {
        if (fail) throw new Error('downstream is down');
        handled.push(data);
      },
      { maxDeliveries: 1 },
    );
    await client.dispatch('Jobs', { order: 7 });
    await waitFor(async () => (await admin.xlen(`${key}:dead`)) === 1, 'dead-lettered');
    const letters = new DeadLetters(admin, { keyPrefix: prefix });
    // Nest hides plain errors behind its generic message unless RedisStreamsExceptionFilter is registered.
    const [letter] = await letters.list('Jobs');
    expect(letter).toMatchObject({
      stream: key,
      group: 'G',
      deliveries: 1,
      reason: 'Internal server error',
      fields: { data: '{"order":7}' },
    });
    fail = false;
    expect(await letters.replay('Jobs')).toHaveLength(1);
    await waitFor(() => handled.length === 1, 'replayed entry handled');
    expect(handled).toEqual([{ order: 7 }]);
    expect(await letters.count('Jobs')).toBe(0);
  });
});
