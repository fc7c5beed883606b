import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { Redis } from 'ioredis';
import { from, timer, map } from 'rxjs';
import {
  RedisStreamsClient,
  RedisStreamsContext,
  RedisStreamsServer,
  type RedisStreamsServerOptions,
} from 'nestjs-redis-streams';
import { groupHandler, pendingCount, sleep } from '../support/handlers.js';
import { waitFor } from '../support/redis-server.js';
import { useStreamFixture } from '../support/stream-fixture.js';

describe('delivery modes, ordering and start ids', () => {
  const fx = useStreamFixture({ group: 'G', block: 200, claimInterval: 0 });
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
  ) {
    return fx.start([groupHandler('Jobs', behaviour, extras)], options);
  }
  const n = (data: unknown): number => (data as { n: number }).n;

  it('handles entries in stream order with concurrency 1, even when handlers take varying time', async () => {
    const seen: number[] = [];
    await start(
      async (data) => {
        await sleep(Math.random() * 5);
        seen.push(n(data));
      },
      { concurrency: 1, count: 7 },
    );
    for (let i = 0; i < 60; i++) client.emit('Jobs', { n: i });
    await waitFor(() => seen.length === 60, 'all handled');
    expect(seen).toEqual([...Array(60).keys()]);
  });

  it('reads a large backlog in bounded slices, never the whole of it', async () => {
    await admin.xgroup('CREATE', key, 'G', '0', 'MKSTREAM');
    const pipeline = admin.pipeline();
    for (let i = 0; i < 2000; i++) pipeline.xadd(key, '*', 'data', JSON.stringify({ n: i }));
    await pipeline.exec();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    const service = await start(
      async () => {
        started++;
        await held;
      },
      { count: 20, concurrency: 5 },
    );
    await waitFor(() => started === 5, 'five handlers running');
    await sleep(300);
    // With every slot busy the reader reads one batch ahead (count) and then stops: it holds at most
    // 2 × count + concurrency entries, however large the backlog.
    const heldByConsumer = await admin.xpending(key, 'G', '-', '+', 5000, service.server.consumer);
    expect(heldByConsumer.length).toBeGreaterThanOrEqual(20);
    expect(heldByConsumer.length).toBeLessThanOrEqual(2 * 20 + 5);
    await sleep(300);
    expect(await admin.xpending(key, 'G', '-', '+', 5000, service.server.consumer)).toHaveLength(heldByConsumer.length);
    expect(started).toBe(5);
    release();
    await waitFor(
      async () => started === 2000 && (await pendingCount(admin, key, 'G')) === 0,
      'backlog drained',
      20_000,
    );
  });

  it('waits for an observable result to complete before acking, and keeps the entry if it errors', async () => {
    let completed = 0;
    @Controller()
    class Streams {
      @EventPattern('Jobs')
      handle(@Payload() data: unknown) {
        if (n(data) === 1)
          return from([1, 2]).pipe(
            map(() => {
              throw new Error('observable failed');
            }),
          );
        return timer(150).pipe(map(() => completed++));
      }
    }
    await fx.start([Streams], { retryBackoff: () => 60_000 });
    await client.dispatch('Jobs', { n: 0 });
    await client.dispatch('Jobs', { n: 1 });
    await sleep(50);
    expect(await pendingCount(admin, key, 'G')).toBe(2);
    await waitFor(() => completed === 1, 'observable completed');
    await waitFor(async () => (await pendingCount(admin, key, 'G')) === 1, 'only the completed one acked');
  });

  it('acks only when the handler calls ctx.ack() in manual mode', async () => {
    const contexts: RedisStreamsContext[] = [];
    await start((_, ctx) => void contexts.push(ctx), {}, { ack: 'manual' });
    await client.dispatch('Jobs', { n: 1 });
    await client.dispatch('Jobs', { n: 2 });
    await waitFor(() => contexts.length === 2, 'both handled');
    await sleep(50);
    expect(await pendingCount(admin, key, 'G')).toBe(2);
    await contexts[0].ack();
    expect(await pendingCount(admin, key, 'G')).toBe(1);
  });

  it('acks on receipt in at-most-once mode, so a failing entry is not retried', async () => {
    let runs = 0;
    await start(
      () => {
        runs++;
        throw new Error('lost on purpose');
      },
      { ack: 'on-receipt', retryBackoff: () => 10 },
    );
    await client.dispatch('Jobs', { n: 1 });
    await waitFor(async () => runs === 1 && (await pendingCount(admin, key, 'G')) === 0, 'acked despite failure');
    await sleep(100);
    expect(runs).toBe(1);
    expect(await admin.exists(`${key}:dead`)).toBe(0);
  });

  it("starts a new group at the stream's end by default, and at its beginning with startId '0'", async () => {
    await client.dispatch('Jobs', { n: 0 });
    const fromEnd: number[] = [];
    const fromStart: number[] = [];
    await start((data) => void fromEnd.push(n(data)), { group: 'Late' });
    await start((data) => void fromStart.push(n(data)), { group: 'Replay', startId: '0' });
    await client.dispatch('Jobs', { n: 1 });
    await waitFor(() => fromEnd.length === 1 && fromStart.length === 2, 'both groups caught up');
    expect(fromEnd).toEqual([1]);
    expect(fromStart).toEqual([0, 1]);
  });

  it('keeps an existing group where it is, whatever startId says', async () => {
    await admin.xgroup('CREATE', key, 'G', '$', 'MKSTREAM');
    await client.dispatch('Jobs', { n: 0 });
    const seen: number[] = [];
    await start((data) => void seen.push(n(data)), { startId: '0' });
    await waitFor(() => seen.length === 1, 'the entry after the group position');
    await client.dispatch('Jobs', { n: 1 });
    await waitFor(() => seen.length === 2, 'next');
    expect(seen).toEqual([0, 1]);
  });

  it('keeps streams apart: a handler sees only its own stream', async () => {
    const jobs: number[] = [];
    const other: number[] = [];
    @Controller()
    class Two {
      @EventPattern('Jobs')
      a(@Payload() data: unknown) {
        jobs.push(n(data));
      }
      @EventPattern('Other')
      b(@Payload() data: unknown) {
        other.push(n(data));
      }
    }
    await fx.start([Two]);
    for (let i = 0; i < 5; i++) {
      await client.dispatch('Jobs', { n: i });
      await client.dispatch('Other', { n: 100 + i });
    }
    await waitFor(() => jobs.length === 5 && other.length === 5, 'both streams');
    expect(jobs).toEqual([0, 1, 2, 3, 4]);
    expect(other).toEqual([100, 101, 102, 103, 104]);
  });

  it('goes on after many handler errors', async () => {
    const ok: number[] = [];
    await start(
      (data) => {
        if (n(data) % 2 === 1) throw new Error('odd');
        ok.push(n(data));
      },
      { maxDeliveries: 1 },
    );
    for (let i = 0; i < 200; i++) client.emit('Jobs', { n: i });
    await waitFor(async () => ok.length === 100 && (await admin.xlen(`${key}:dead`)) === 100, '100 handled, 100 dead');
    await client.dispatch('Jobs', { n: 1000 });
    await waitFor(() => ok.includes(1000), 'still consuming');
  });

  it('loses nothing across repeated start, read and close of a consumer mid-stream', async () => {
    const counts = new Map<number, number>();
    for (let i = 0; i < 500; i++) client.emit('Jobs', { n: i });
    await admin.xgroup('CREATE', key, 'G', '0', 'MKSTREAM').catch(() => undefined);
    while (counts.size < 500) {
      await fx.start(
        [
          groupHandler('Jobs', async (data) => {
            await sleep(1);
            counts.set(n(data), (counts.get(n(data)) ?? 0) + 1);
          }),
        ],
        { consumer: 'restarting', count: 10, concurrency: 5 },
      );
      await sleep(20 + Math.random() * 30);
      await fx.closeServices();
    }
    expect(counts.size).toBe(500);
    expect(await pendingCount(admin, key, 'G')).toBe(0);
  });

  it('starts and closes many servers concurrently without errors or leftover consumers', async () => {
    const servers = await Promise.all(
      Array.from({ length: 8 }, () => fx.start([groupHandler('Jobs', () => undefined)])),
    );
    await fx.closeServices();
    expect(servers).toHaveLength(8);
    const consumers = (await admin.xinfo('CONSUMERS', key, 'G')) as unknown[];
    expect(consumers).toHaveLength(0);
  });

  it('refuses a group handler without a group, naming the options to set', async () => {
    const server = new RedisStreamsServer({ connection: fx.redis.url, keyPrefix: prefix });
    server.addHandler('Jobs', () => Promise.resolve(undefined), true, {});
    const error = await new Promise<unknown>((resolve) => void server.listen((err) => resolve(err)));
    await server.close();
    expect(String(error)).toMatch(/`group`.*@EventPattern\('Jobs', \{ group: 'MyGroup' \}\)/);
  });

  it('exposes entry details through the context', async () => {
    const contexts: RedisStreamsContext[] = [];
    await start((_, ctx) => void contexts.push(ctx));
    const before = Date.now();
    const id = await client.dispatch('Jobs', { n: 1 }, { 'trace-id': 'abc' });
    await waitFor(() => contexts.length === 1, 'handled');
    const ctx = contexts[0];
    expect(ctx.getId()).toBe(id);
    expect(ctx.getStream()).toBe('Jobs');
    expect(ctx.getKey()).toBe(key);
    expect(ctx.getGroup()).toBe('G');
    expect(ctx.getDeliveryCount()).toBe(1);
    expect(ctx.getHeaders()).toEqual({ 'trace-id': 'abc' });
    expect(ctx.getTimestamp().getTime()).toBeGreaterThanOrEqual(before - 1000);
  });
});
