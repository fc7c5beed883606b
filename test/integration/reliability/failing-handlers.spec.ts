import { RpcException } from '@nestjs/microservices';
import { groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

/**
 * Issue 10, defect 5: entries waiting for a retry count toward the bound of 2 × count + concurrency; a downstream outage
 * (no entry of the handler succeeds) doesn't empty the stream into the dead-letter stream, a poison entry still goes.
 */
describe('failing handlers', () => {
  const count = 10;
  const concurrency = 5;
  const fx = useStreamFixture({
    group: 'G',
    count,
    concurrency,
    retryBackoff: () => 300,
    maxDeliveries: 3,
    consumerIdleTimeout: 0,
    claimInterval: 0,
  });

  /** Pending entries per consumer (XPENDING summary form). */
  async function heldPerConsumer(): Promise<number[]> {
    const [, , , consumers] = (await fx.admin.xpending(fx.key('Jobs'), 'G')) as [
      number,
      string,
      string,
      [string, string][],
    ];
    return (consumers ?? []).map(([, held]) => Number(held));
  }

  it('holds at most 2 × count + concurrency entries through an outage, dead-letters none, and drains after it', async () => {
    const key = fx.key('Jobs');
    await fx.admin.xgroup('CREATE', key, 'G', '$', 'MKSTREAM');
    const pipeline = fx.admin.pipeline();
    for (let i = 0; i < 2000; i++) pipeline.xadd(key, '*', 'data', JSON.stringify({ i }));
    await pipeline.exec();
    let down = true;
    const failures = new Map<number, number>();
    const handled = new Set<number>();
    await fx.start([
      groupHandler('Jobs', (data) => {
        const { i } = data as { i: number };
        if (down) {
          failures.set(i, (failures.get(i) ?? 0) + 1);
          throw new Error('downstream is down');
        }
        handled.add(i);
      }),
    ]);
    let most = 0;
    for (const until = Date.now() + 4000; Date.now() < until; await sleep(100)) {
      most = Math.max(most, ...(await heldPerConsumer()));
    }
    expect(Math.max(...failures.values())).toBeGreaterThanOrEqual(3); // entries reached maxDeliveries in the outage
    expect(most).toBeLessThanOrEqual(2 * count + concurrency);
    expect(await fx.admin.xlen(`${key}:dead`)).toBe(0);

    down = false;
    await waitFor(
      async () => handled.size === 2000 && (await pendingCount(fx.admin, key, 'G')) === 0,
      'every entry handled after the outage',
      12_000,
    ).catch(() => undefined); // the assertions below say what went wrong
    expect({ handled: handled.size, pending: await pendingCount(fx.admin, key, 'G') }).toEqual({
      handled: 2000,
      pending: 0,
    });
    expect(await fx.admin.xlen(`${key}:dead`)).toBe(0);
  });

  it('still dead-letters a poison entry among entries that succeed, after maxDeliveries deliveries', async () => {
    const key = fx.key('Jobs');
    let poisonRuns = 0;
    const good = new Set<number>();
    await fx.start([
      groupHandler('Jobs', (data) => {
        const { i, poison } = data as { i: number; poison?: boolean };
        if (poison) {
          poisonRuns++;
          throw new RpcException('poison');
        }
        good.add(i);
      }),
    ]);
    let poisonId = '';
    for (let i = 0; i < 100; i++) {
      const id = await fx.client.dispatch('Jobs', { i, poison: i === 50 });
      if (i === 50) poisonId = id;
    }
    await waitFor(async () => (await fx.admin.xlen(`${key}:dead`)) === 1, 'poison dead-lettered', 10_000);
    await waitFor(async () => (await pendingCount(fx.admin, key, 'G')) === 0, 'nothing pending');
    const [[, fields]] = await fx.admin.xrange(`${key}:dead`, '-', '+');
    expect(fields.slice(0, 4)).toEqual(['dl:stream', key, 'dl:id', poisonId]);
    expect(poisonRuns).toBe(3);
    expect(good.size).toBe(99);
  });
});
