import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { Redis } from 'ioredis';
import { RedisStreamsClient, RedisStreamsContext } from 'nestjs-redis-streams';
import { waitFor } from '../support/redis-server.js';
import { useStreamFixture } from '../support/stream-fixture.js';

interface Received {
  consumer: string;
  stream: string;
  data: unknown;
  id: string;
}

describe('consumer groups', () => {
  const fx = useStreamFixture({});
  let admin: Redis;
  let client: RedisStreamsClient;
  let prefix: string;
  beforeEach(() => {
    ({ admin, client, prefix } = fx);
  });

  function recorder(log: Received[], stream: string, extras: Record<string, unknown> = {}) {
    @Controller()
    class Recorder {
      @EventPattern(stream, extras)
      handle(@Payload() data: unknown, @Ctx() ctx: RedisStreamsContext) {
        log.push({ consumer: ctx.getConsumer(), stream: ctx.getStream(), data, id: ctx.getId() });
      }
    }
    return Recorder;
  }

  it('delivers each entry to exactly one consumer of a group, spread over the consumers', async () => {
    const log: Received[] = [];
    for (let i = 0; i < 3; i++) {
      await fx.start([recorder(log, 'Email')], { group: 'G', count: 5, concurrency: 1 });
    }
    for (let i = 0; i < 300; i++) client.emit('Email', { n: i });
    await waitFor(() => log.length >= 300, '300 entries handled');
    await new Promise((r) => setTimeout(r, 200));
    expect(log).toHaveLength(300);
    expect(new Set(log.map((r) => (r.data as { n: number }).n)).size).toBe(300);
    const perConsumer = new Set(log.map((r) => r.consumer));
    expect(perConsumer.size).toBeGreaterThan(1);
    await waitFor(async () => ((await admin.xpending(`${prefix}Email`, 'G')) as [number])[0] === 0, 'all acked');
  });

  it('gives every group every entry, independently', async () => {
    const a: Received[] = [];
    const b: Received[] = [];
    await fx.start([recorder(a, 'Email')], { group: 'A' });
    await fx.start([recorder(b, 'Email', { group: 'B' })], { group: 'A' });
    for (let i = 0; i < 50; i++) await client.dispatch('Email', { n: i });
    await waitFor(() => a.length === 50 && b.length === 50, 'both groups got all 50');
  });

  it('reads one group over two streams with one reader', async () => {
    const log: Received[] = [];
    @Controller()
    class Bi {
      @EventPattern('Email', { group: 'BIGroup' })
      email(@Payload() data: unknown, @Ctx() ctx: RedisStreamsContext) {
        log.push({ consumer: ctx.getConsumer(), stream: ctx.getStream(), data, id: ctx.getId() });
      }
      @EventPattern('Push', { group: 'BIGroup' })
      push(@Payload() data: unknown, @Ctx() ctx: RedisStreamsContext) {
        log.push({ consumer: ctx.getConsumer(), stream: ctx.getStream(), data, id: ctx.getId() });
      }
    }
    const service = await fx.start([Bi]);
    await client.dispatch('Email', { to: 'a@b.c' });
    await client.dispatch('Push', { userId: 1 });
    await waitFor(() => log.length === 2, 'both streams handled');
    expect(log.map((r) => r.stream).sort()).toEqual(['Email', 'Push']);
    const clients = (await admin.client('LIST')) as string;
    const readers = clients
      .split('\n')
      .filter((line) => line.includes(`name=${service.server.consumer}:group:BIGroup`));
    expect(readers).toHaveLength(1);
  });

  it('hands entries written by other programs as plain fields to handlers as objects', async () => {
    const log: Received[] = [];
    await fx.start([recorder(log, 'Email')], { group: 'G' });
    await admin.xadd(`${prefix}Email`, '*', 'subject', 'first', 'body', 'hello');
    await waitFor(() => log.length === 1, 'redis-cli entry handled');
    expect(log[0].data).toEqual({ subject: 'first', body: 'hello' });
  });

  it('stores emitted payloads as readable JSON and completes emit with the entry id', async () => {
    const id = await new Promise<string>((resolve, reject) =>
      client.emit('Email', { to: 'x@y.z', subject: 'hi' }).subscribe({ next: resolve, error: reject }),
    );
    const [[storedId, fields]] = await admin.xrange(`${prefix}Email`, '-', '+');
    expect(storedId).toBe(id);
    expect(fields).toEqual(['data', '{"to":"x@y.z","subject":"hi"}']);
  });

  it('writes many emits of one tick in their order, each resolving with its own entry id', async () => {
    const ids = await Promise.all(
      Array.from({ length: 500 }, (_, n) => client.dispatch('Email', { n, pad: 'x'.repeat(n % 7) })),
    );
    const stored = await admin.xrange(`${prefix}Email`, '-', '+');
    expect(stored.map(([id]) => id)).toEqual(ids);
    expect(stored.map(([, fields]) => (JSON.parse(fields[1]) as { n: number }).n)).toEqual(
      Array.from({ length: 500 }, (_, n) => n),
    );
  });

  it('moves an undecodable entry to the dead-letter stream and keeps consuming', async () => {
    const log: Received[] = [];
    await fx.start([recorder(log, 'Email')], { group: 'G' });
    const badId = await admin.xadd(`${prefix}Email`, '*', 'data', '{not json');
    await client.dispatch('Email', { ok: true });
    await waitFor(() => log.length === 1, 'good entry handled');
    await waitFor(async () => (await admin.xlen(`${prefix}Email:dead`)) === 1, 'dead letter written');
    const [[, dead]] = await admin.xrange(`${prefix}Email:dead`, '-', '+');
    const fields = Object.fromEntries(
      dead.reduce<string[][]>((acc, v, i) => (i % 2 ? acc[acc.length - 1].push(v) : acc.push([v]), acc), []),
    );
    expect(fields['dl:id']).toBe(badId);
    expect(fields['dl:stream']).toBe(`${prefix}Email`);
    expect(fields['dl:reason']).toMatch(/not valid JSON/);
    expect(fields.data).toBe('{not json');
    expect(log[0].data).toEqual({ ok: true });
    expect(((await admin.xpending(`${prefix}Email`, 'G')) as [number])[0]).toBe(0);
  });
});
