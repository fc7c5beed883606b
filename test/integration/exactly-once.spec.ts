import type { Redis } from 'ioredis';
import { RedisStreamsClient } from 'nestjs-redis-streams';
import { groupHandler, pendingCount, sleep } from '../support/handlers.js';
import { waitFor } from '../support/redis-server.js';
import { useStreamFixture } from '../support/stream-fixture.js';

describe('exactly-once Redis effects', () => {
  const fx = useStreamFixture({ group: 'G', claimInterval: 0 });
  let admin: Redis;
  let client: RedisStreamsClient;
  let prefix: string;
  let key: string;
  beforeEach(() => {
    ({ admin, client, prefix } = fx);
    key = fx.key('Orders');
  });

  it('applies declared writes together with the ack', async () => {
    await fx.start([
      groupHandler('Orders', (data, ctx) => {
        const { amount } = data as { amount: number };
        ctx.effects
          .hIncrBy(`${prefix}totals`, 'orders', 1)
          .incrBy(`${prefix}revenue`, amount)
          .sAdd(`${prefix}ids`, ctx.getId());
      }),
    ]);
    for (let i = 1; i <= 50; i++) client.emit('Orders', { amount: i });
    await waitFor(async () => (await admin.hget(`${prefix}totals`, 'orders')) === '50', 'fifty orders counted');
    expect(await admin.get(`${prefix}revenue`)).toBe(String((50 * 51) / 2));
    expect(await admin.scard(`${prefix}ids`)).toBe(50);
    expect(await pendingCount(admin, key, 'G')).toBe(0);
  });

  it('applies nothing on a second run of the same entry (a claim race), though the handler ran twice', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let runs = 0;
    const behaviour = async (
      _: unknown,
      ctx: { getConsumer(): string; effects: { incrBy(k: string, n: number): unknown } },
    ) => {
      runs++;
      ctx.effects.incrBy(`${prefix}count`, 1);
      if (ctx.getConsumer() === 'slow') await held;
    };
    await fx.start([groupHandler('Orders', behaviour)], { consumer: 'slow', minIdleTime: 60_000 });
    const id = await client.dispatch('Orders', { amount: 1 });
    await waitFor(() => runs === 1, 'slow consumer started');
    // Another consumer takes the entry over (as if the slow one had looked dead) and finishes it first.
    await admin.xclaim(key, 'G', 'fast', 0, id);
    await fx.start([groupHandler('Orders', behaviour)], { consumer: 'fast' });
    await waitFor(async () => runs === 2 && (await admin.get(`${prefix}count`)) === '1', 'fast consumer applied once');
    release();
    await sleep(200);
    expect(runs).toBe(2);
    expect(await admin.get(`${prefix}count`)).toBe('1');
    expect(await pendingCount(admin, key, 'G')).toBe(0);
  });

  it('applies nothing when the handler fails, and applies once when the retry succeeds', async () => {
    let attempts = 0;
    await fx.start(
      [
        groupHandler('Orders', (_, ctx) => {
          attempts++;
          ctx.effects.incrBy(`${prefix}count`, 1);
          if (attempts === 1) throw new Error('first try fails');
        }),
      ],
      { retryBackoff: () => 50 },
    );
    await client.dispatch('Orders', { amount: 1 });
    await waitFor(() => attempts === 2, 'retried');
    await waitFor(async () => (await pendingCount(admin, key, 'G')) === 0, 'acked');
    expect(await admin.get(`${prefix}count`)).toBe('1');
  });

  it('refuses a command that cannot be an effect, naming the allowed ones', async () => {
    const { RedisEffects } = await import('nestjs-redis-streams');
    expect(() => new RedisEffects().add('FLUSHALL', 'x')).toThrow(/"FLUSHALL" can't be declared as an effect.*INCRBY/);
  });
});

describe('consumer clean-up', () => {
  const fx = useStreamFixture({ group: 'G', claimInterval: 0 });

  it('removes idle consumers with nothing pending, and never one that still holds entries', async () => {
    const { admin } = fx;
    const key = fx.key('Jobs');
    await admin.xgroup('CREATE', key, 'G', '$', 'MKSTREAM');
    await admin.call('XGROUP', 'CREATECONSUMER', key, 'G', 'gone-empty');
    await admin.xadd(key, '*', 'data', '1');
    await admin.xreadgroup('GROUP', 'G', 'gone-holding', 'COUNT', 1, 'STREAMS', key, '>');
    await sleep(250);
    const service = await fx.start([groupHandler('Jobs', () => undefined)], { consumerIdleTimeout: 200 });
    await waitFor(async () => {
      const names = ((await admin.xinfo('CONSUMERS', key, 'G')) as unknown[][]).map((c) => c[1]);
      return !names.includes('gone-empty');
    }, 'empty idle consumer removed');
    await sleep(400);
    const names = ((await admin.xinfo('CONSUMERS', key, 'G')) as unknown[][]).map((c) => c[1]);
    expect(names).toContain('gone-holding');
    expect(names).toContain(service.server.consumer);
  });
});
