// Adversarial review of take-over-2 / ack-in-order-1: the head of a partition's pending list is an entry pending with a
// consumer that is gone (a crashed instance, an operator's XCLAIM), possibly deleted from the stream meanwhile. The
// owner (which holds the lease from the start, so no acquisition took it over) must not be stuck behind it forever.
import { RedisStreamsRecord } from 'nestjs-redis-streams';
import { groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('a head entry pending with a gone consumer', () => {
  const fx = useStreamFixture({ group: 'G', partitions: { Orders: 1 }, partitionLeaseTime: 1000 });
  it.each([['kept'], ['deleted']])(
    'moves on when that entry is %s',
    async (fate) => {
      const calls: number[] = [];
      const key = fx.key('Orders:p0');
      await fx.start(
        [
          groupHandler('Orders', async (data) => {
            calls.push((data as { n: number }).n);
            await sleep(20);
          }),
        ],
        { consumer: 'a', startId: '0' },
      );
      await fx.client.dispatch('Orders', new RedisStreamsRecord({ n: 0 }, {}, { key: 'k' }));
      await waitFor(async () => calls.includes(0) && (await pendingCount(fx.admin, key, 'G')) === 0, '0 done');
      // An entry that the running owner never saw, pending with a gone consumer: written and read by hand.
      const id = await fx.admin.xadd(key, '*', 'data', JSON.stringify({ n: 1 }));
      await fx.admin.call('XCLAIM', key, 'G', 'ghost', 0, id!, 'FORCE', 'JUSTID');
      if (fate === 'deleted') await fx.admin.xdel(key, id!);
      await fx.client.dispatch('Orders', new RedisStreamsRecord({ n: 2 }, {}, { key: 'k' }));
      await waitFor(async () => calls.includes(2) && (await pendingCount(fx.admin, key, 'G')) === 0, 'all done', 8000);
      await sleep(300);
      expect(calls.filter((n) => n === 2).length).toBeLessThanOrEqual(2);
    },
    20_000,
  );
});
