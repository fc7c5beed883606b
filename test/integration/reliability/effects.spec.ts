import { groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

/** Issue 10, defect 9: declared exactly-once effects are applied once, or refused loudly; never silently dropped. */
describe('exactly-once effects are never silently dropped', () => {
  const fx = useStreamFixture({ group: 'G', consumerIdleTimeout: 0, claimInterval: 0 });
  const entries = 60;

  async function dispatchAll(): Promise<void> {
    await Promise.all(Array.from({ length: entries }, (_, i) => fx.client.dispatch('Jobs', { i })));
  }

  it("applies them with ack: 'manual' when the handler awaits ctx.ack()", async () => {
    const counter = `${fx.prefix}totals`;
    await fx.start(
      [
        groupHandler(
          'Jobs',
          async (_, ctx) => {
            ctx.effects.hIncrBy(counter, 'orders', 1);
            await sleep(Math.random() * 20);
            await ctx.ack();
          },
          { ack: 'manual' },
        ),
      ],
      { concurrency: 10 },
    );
    await dispatchAll();
    await waitFor(
      async () =>
        (await pendingCount(fx.admin, fx.key('Jobs'), 'G')) === 0 && (await fx.admin.xlen(fx.key('Jobs'))) === entries,
      'all acked',
    );
    await sleep(300);
    expect(await fx.admin.hget(counter, 'orders')).toBe(String(entries));
  });

  it("refuses them with ack: 'on-receipt', failing the handler with an error that names `ack`", async () => {
    const errors: string[] = [];
    await fx.start([
      groupHandler(
        'Jobs',
        (_, ctx) => {
          try {
            ctx.effects.incrBy(`${fx.prefix}count`, 1);
          } catch (err) {
            errors.push((err as Error).message);
            throw err;
          }
        },
        { ack: 'on-receipt' },
      ),
    ]);
    await dispatchAll();
    await waitFor(
      async () =>
        (await pendingCount(fx.admin, fx.key('Jobs'), 'G')) === 0 && (await fx.admin.xlen(fx.key('Jobs'))) === entries,
      'all acked on receipt',
    );
    await sleep(300);
    expect(errors).toHaveLength(entries);
    expect(errors[0]).toMatch(/ack/);
    expect(await fx.admin.get(`${fx.prefix}count`)).toBeNull();
  });

  it('applies them exactly once for entries deleted while their handler runs', async () => {
    const key = fx.key('Jobs');
    const counter = `${fx.prefix}count`;
    let finished = 0;
    await fx.start(
      [
        groupHandler('Jobs', async (_, ctx) => {
          ctx.effects.incrBy(counter, 1);
          await fx.admin.xdel(key, ctx.getId());
          await sleep(600); // longer than a refresh period (minIdleTime / 3), shorter than minIdleTime
          finished++;
        }),
      ],
      { minIdleTime: 1000, concurrency: 20 },
    );
    await dispatchAll();
    await waitFor(
      async () => finished === entries && (await pendingCount(fx.admin, key, 'G')) === 0,
      'all done',
      10_000,
    );
    await sleep(300);
    expect(await fx.admin.get(counter)).toBe(String(entries));
  });
});
