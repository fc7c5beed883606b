// Found by the adversarial review of the split reader: group recreation after an operator's XGROUP DESTROY. Each test failed on its first version.
import type { Redis } from 'ioredis';
import type { RedisStreamsClient } from 'nestjs-redis-streams';
import { groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('XGROUP DESTROY while entries are held', () => {
  const fx = useStreamFixture({ group: 'G', consumerIdleTimeout: 0 });
  let admin: Redis;
  let client: RedisStreamsClient;
  let key: string;
  beforeEach(() => {
    ({ admin, client } = fx);
    key = fx.key('Jobs');
  });

  it('does not lose an entry another process holds when this process recreates the group', async () => {
    // B holds e1 (running, slow) and e2 (queued: count 1, concurrency 1, so B is not reading); A reads e3.
    const runs: { who: string; n: number }[] = [];
    const slow = groupHandler('Jobs', async (data) => {
      runs.push({ who: 'B', n: (data as { n: number }).n });
      await sleep(2500);
    });
    await fx.start([slow], { consumer: 'B', count: 1, concurrency: 1, minIdleTime: 1500, claimInterval: 200 });
    await client.dispatch('Jobs', { n: 1 });
    await client.dispatch('Jobs', { n: 2 });
    await waitFor(() => runs.length === 1, 'B runs e1');
    const fast = groupHandler('Jobs', (data) => {
      runs.push({ who: 'A', n: (data as { n: number }).n });
    });
    await fx.start([fast], { consumer: 'A', minIdleTime: 1500, claimInterval: 200 });
    await client.dispatch('Jobs', { n: 3 });
    await waitFor(() => runs.some((r) => r.n === 3), 'A runs e3');
    // The operator destroys the group; A's blocked read gets NOGROUP at once and recreates it after e3.
    await admin.xgroup('DESTROY', key, 'G');
    // Every entry must still run at least once somewhere (or be dead-lettered): e2 was only ever queued in B.
    await sleep(8000);
    const ran = new Set(runs.map((r) => r.n));
    const dead = await admin.xlen(`${key}:dead`);
    expect({ ran: [...ran].sort(), dead }).toEqual({ ran: [1, 2, 3], dead: 0 });
  }, 30_000);

  it('does not lose an entry waiting for its retry when the retry is the first to see NOGROUP', async () => {
    let runs = 0;
    // count 1: the failed entry's reservation fills the queue, so the read loop waits and doesn't see NOGROUP first.
    await fx.start(
      [
        groupHandler('Jobs', () => {
          runs++;
          if (runs === 1) throw new Error('first run fails');
        }),
      ],
      { consumer: 'A', count: 1, concurrency: 1, block: 300, minIdleTime: 6000, retryBackoff: () => 3000 },
    );
    await client.dispatch('Jobs', { n: 1 });
    await waitFor(() => runs === 1, 'first (failed) run');
    await sleep(1000); // the read under way when it failed has returned; the loop now waits for room
    await admin.xgroup('DESTROY', key, 'G');
    // The entry failed once and was never dead-lettered: it must run again.
    await sleep(7000);
    expect({ runs, dead: await admin.xlen(`${key}:dead`) }).toEqual({ runs: 2, dead: 0 });
  }, 30_000);

  it('does not give an already-acknowledged held entry a new pending record (on-receipt runs twice)', async () => {
    let runs = 0;
    await fx.start(
      [
        groupHandler(
          'Jobs',
          async () => {
            runs++;
            await sleep(1500);
          },
          { ack: 'on-receipt' },
        ),
      ],
      { consumer: 'A', minIdleTime: 1000, claimInterval: 200 },
    );
    await client.dispatch('Jobs', { n: 1 });
    await waitFor(() => runs === 1, 'first run');
    await sleep(200); // its on-receipt XACK is done
    await admin.xgroup('DESTROY', key, 'G');
    // at-most-once: it was acknowledged before its run; it must never run again nor stay pending.
    await sleep(5000);
    expect({ runs, pending: await pendingCount(admin, key, 'G') }).toEqual({ runs: 1, pending: 0 });
  }, 30_000);

  it('does not apply exactly-once effects twice after ctx.ack() and a recreated group', async () => {
    const counter = `${fx.prefix}counter`;
    let runs = 0;
    await fx.start(
      [
        groupHandler(
          'Jobs',
          async (_data, ctx) => {
            runs++;
            ctx.effects.incrBy(counter, 1);
            await ctx.ack();
            await sleep(1500);
          },
          { ack: 'manual' },
        ),
      ],
      { consumer: 'A', minIdleTime: 1000, claimInterval: 200 },
    );
    await client.dispatch('Jobs', { n: 1 });
    await waitFor(async () => (await admin.get(counter)) === '1', 'effect applied once');
    await admin.xgroup('DESTROY', key, 'G');
    await sleep(5000);
    expect({ runs, counter: await admin.get(counter) }).toEqual({ runs: 1, counter: '1' });
  }, 30_000);
});

describe('XGROUP DESTROY after a restart', () => {
  const fx = useStreamFixture({ group: 'G', consumerIdleTimeout: 0 });

  it('does not replay acknowledged history when the group is destroyed before the restarted reader read anything', async () => {
    const key = fx.key('Jobs');
    let runs = 0;
    const handler = groupHandler('Jobs', () => {
      runs++;
    });
    await fx.start([handler], { consumer: 'A' });
    for (let n = 0; n < 50; n++) await fx.client.dispatch('Jobs', { n });
    await waitFor(() => runs === 50, '50 handled');
    await waitFor(async () => (await pendingCount(fx.admin, key, 'G')) === 0, 'all acked');
    // A deploy restarts the service; then an operator destroys the group; then one new entry arrives.
    await fx.closeServices();
    await fx.start([handler], { consumer: 'A2' });
    await fx.admin.xgroup('DESTROY', key, 'G');
    await sleep(500);
    await fx.client.dispatch('Jobs', { n: 50 });
    await sleep(3000);
    // The group's last delivered id was known from Redis at start-up (XINFO GROUPS): only the new entry should run.
    expect(runs).toBe(51);
  }, 30_000);
});
