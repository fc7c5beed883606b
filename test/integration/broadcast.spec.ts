import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Broadcast, RedisStreamsClient, RedisStreamsContext } from 'nestjs-redis-streams';
import { broadcastHandler, sleep } from '../support/handlers.js';
import { waitFor } from '../support/redis-server.js';
import { useStreamFixture } from '../support/stream-fixture.js';

describe('broadcast', () => {
  const fx = useStreamFixture({ block: 200 });
  let client: RedisStreamsClient;
  beforeEach(() => {
    ({ client } = fx);
  });

  const n = (data: unknown): number => (data as { n: number }).n;

  it('delivers every entry to every running instance', async () => {
    const logs: number[][] = [[], [], []];
    for (const log of logs) {
      await fx.start([broadcastHandler('News', (data) => void log.push(n(data)))]);
    }
    for (let i = 0; i < 100; i++) client.emit('News', { n: i });
    await waitFor(() => logs.every((log) => log.length === 100), 'each instance got all 100');
    for (const log of logs) expect(log).toEqual([...Array(100).keys()]);
  });

  it('starts at the end of the stream by default, and from 0 when asked', async () => {
    await client.dispatch('News', { n: -1 });
    const fromEnd: number[] = [];
    const fromStart: number[] = [];
    await fx.start([broadcastHandler('News', (data) => void fromEnd.push(n(data)))]);
    await fx.start([broadcastHandler('News', (data) => void fromStart.push(n(data)))], { broadcastStartId: '0' });
    await client.dispatch('News', { n: 1 });
    await waitFor(() => fromEnd.length === 1 && fromStart.length === 2, 'both readers caught up');
    expect(fromEnd).toEqual([1]);
    expect(fromStart).toEqual([-1, 1]);
  });

  it('misses nothing added between two reads, even with small reads and a slow handler', async () => {
    const seen: number[] = [];
    await fx.start(
      [
        broadcastHandler(
          'News',
          async (data) => {
            await sleep(1);
            seen.push(n(data));
          },
          1,
        ),
      ],
      { count: 3 },
    );
    for (let burst = 0; burst < 10; burst++) {
      for (let i = 0; i < 20; i++) client.emit('News', { n: burst * 20 + i });
      await sleep(5);
    }
    await waitFor(() => seen.length === 200, 'all 200 seen');
    expect(seen).toEqual([...Array(200).keys()]);
  });

  it('keeps going after a broadcast handler fails', async () => {
    const seen: number[] = [];
    await fx.start([
      broadcastHandler('News', (data) => {
        if (n(data) === 1) throw new Error('boom');
        seen.push(n(data));
      }),
    ]);
    for (let i = 0; i < 3; i++) await client.dispatch('News', { n: i });
    await waitFor(() => seen.length === 2, 'the others handled');
    expect(seen).toEqual([0, 2]);
  });

  it('runs a group handler and a broadcast handler of the same stream in one app without mixing them up', async () => {
    const grouped: RedisStreamsContext[] = [];
    const broadcast: RedisStreamsContext[] = [];
    @Controller()
    class Both {
      @EventPattern('News', { group: 'Readers' })
      inGroup(@Payload() _data: unknown, @Ctx() ctx: RedisStreamsContext) {
        grouped.push(ctx);
      }
      @Broadcast('News')
      everywhere(@Payload() _data: unknown, @Ctx() ctx: RedisStreamsContext) {
        broadcast.push(ctx);
      }
    }
    await fx.start([Both]);
    await fx.start([Both]);
    for (let i = 0; i < 10; i++) await client.dispatch('News', { n: i });
    await waitFor(() => grouped.length === 10 && broadcast.length === 20, 'group once, broadcast twice');
    expect(grouped.every((ctx) => ctx.getGroup() === 'Readers')).toBe(true);
    expect(broadcast.every((ctx) => ctx.getGroup() === undefined)).toBe(true);
    expect(new Set(grouped.map((ctx) => ctx.getId())).size).toBe(10);
  });
});
