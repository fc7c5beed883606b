import { RedisStreamsClient, RedisStreamsRecord } from 'nestjs-redis-streams';
import { leaseHolder, leaseKey } from '../../../libs/redis-streams/src/partitions/partition-leases.js';
import { FreezingProxy } from '../../support/freezing-proxy.js';
import { groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

/** Issue 12: a partition's order holds through failures, and an owner paused past its lease reads nothing more there. */
describe('partition order and fencing', () => {
  const fx = useStreamFixture({ group: 'G', partitions: { Orders: 1 }, partitionLeaseTime: 1000 });
  let proxy: FreezingProxy | undefined;
  let client: RedisStreamsClient;
  beforeEach(() => {
    client = new RedisStreamsClient({ connection: fx.redis.url, keyPrefix: fx.prefix, partitions: { Orders: 1 } });
  });
  afterEach(async () => {
    proxy?.thaw();
    await client.close();
    await fx.closeServices();
    await proxy?.stop();
    proxy = undefined;
  });

  const emit = async (from: number, to: number): Promise<void> => {
    for (let n = from; n < to; n++) await client.dispatch('Orders', new RedisStreamsRecord({ n }, {}, { key: 'k' }));
  };
  const owner = async (): Promise<string | undefined> =>
    leaseHolder(await fx.admin.get(leaseKey(fx.key('Orders:p0'), 'G')))?.consumer;
  const drained = (): Promise<void> =>
    waitFor(async () => (await pendingCount(fx.admin, fx.key('Orders:p0'), 'G')) === 0, 'nothing pending on p0');

  it('runs nothing after a failing entry until its retry succeeds', async () => {
    const calls: string[] = [];
    const failures = new Map<number, number>([
      [3, 2],
      [7, 1],
    ]);
    await fx.start(
      [
        groupHandler('Orders', async (data) => {
          const { n } = data as { n: number };
          await sleep(Math.random() * 5);
          const left = failures.get(n) ?? 0;
          calls.push(`${n}${left > 0 ? '!' : ''}`);
          if (left > 0) {
            failures.set(n, left - 1);
            throw new Error(`planned failure of ${n}`);
          }
        }),
      ],
      { retryBackoff: () => 200, maxDeliveries: 5, consumer: 'a' },
    );
    await emit(0, 12);
    await waitFor(() => calls.filter((c) => !c.endsWith('!')).length === 12, 'all 12 succeeded');
    expect(calls).toEqual(['0', '1', '2', '3!', '3!', '3', '4', '5', '6', '7!', '7', '8', '9', '10', '11']);
    await drained();
  });

  it('moves on once a failing entry is dead-lettered, and closes at once while a retry waits', async () => {
    const calls: number[] = [];
    let backoff = 100;
    await fx.start(
      [
        groupHandler('Orders', (data) => {
          const { n } = data as { n: number };
          calls.push(n);
          if (n === 3) backoff = 60_000;
          if (n === 2 || (n === 6 && calls.filter((c) => c === 6).length === 1)) throw new Error(`poison ${n}`);
        }),
      ],
      // 6's retry is due in 60 s; closing must not wait for it (shutdownTimeout 60 s, the test's timeout 20 s).
      { retryBackoff: () => backoff, maxDeliveries: 2, shutdownTimeout: 60_000 },
    );
    await emit(0, 8);
    await waitFor(() => calls.includes(6), 'entry 6 ran');
    await sleep(300);
    expect(calls).toEqual([0, 1, 2, 2, 3, 4, 5, 6]);
    const dead = await fx.admin.xrange(`${fx.key('Orders:p0')}:dead`, '-', '+');
    expect(dead.map(([, fields]) => JSON.parse(fields[fields.indexOf('data') + 1]) as unknown)).toEqual([{ n: 2 }]);
    await fx.closeServices();
    // 6 (failed once, waiting for its retry) and 7 (behind it) stay pending for the partition's next owner.
    expect(await pendingCount(fx.admin, fx.key('Orders:p0'), 'G')).toBe(2);
  }, 20_000);

  it('gives a paused owner nothing more to read once another instance took its partition', async () => {
    proxy = new FreezingProxy(fx.redis.port);
    await proxy.start();
    const handled: { n: number; consumer: string }[] = [];
    const handler = groupHandler('Orders', (data, ctx) => {
      handled.push({ n: (data as { n: number }).n, consumer: ctx.getConsumer() });
    });
    await fx.start([handler], { connection: proxy.url, consumer: 'a' });
    await emit(0, 5);
    await waitFor(() => handled.length === 5, 'a handled the first five entries');
    await drained();
    // a is paused: its blocked read is at Redis, its lease renewals are stuck until it resumes.
    proxy.freeze();
    await sleep(1200);
    await fx.start([handler], { consumer: 'b' });
    await waitFor(async () => (await owner()) === 'b', 'b took the partition');
    await emit(5, 25);
    await sleep(300);
    proxy.thaw();
    await waitFor(() => new Set(handled.map((h) => h.n)).size === 25, 'all 25 handled');
    await drained();
    await sleep(1000); // a resumed: time for whatever it would still read or run
    expect(handled.filter((h) => h.consumer === 'a').map((h) => h.n)).toEqual([0, 1, 2, 3, 4]);
    expect(handled.filter((h) => h.consumer === 'b').map((h) => h.n)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 5),
    );
  }, 30_000);
});
