// Adversarial review of ack-in-order-1: an entry deleted from the stream (XDEL, trimming) while it runs stays at the
// head of the group's pending list. Checked here: the partition is not stuck behind it (its ack still counts, or the
// replay's claim drops the record), and the entries after it run once each.
import { RedisStreamsRecord } from 'nestjs-redis-streams';
import { groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('a deleted entry at the head of a partition', () => {
  const fx = useStreamFixture({ group: 'G', partitions: { Orders: 1 }, partitionLeaseTime: 1000 });
  it.each([['fails'], ['succeeds']])(
    'does not stall the partition when the deleted entry %s',
    async (outcome) => {
      const calls: number[] = [];
      const key = fx.key('Orders:p0');
      await fx.start(
        [
          groupHandler('Orders', async (data, ctx) => {
            const { n } = data as { n: number };
            calls.push(n);
            if (n !== 0) return;
            await fx.admin.xdel(key, ctx.getId());
            await sleep(100);
            if (outcome === 'fails') throw new Error('planned failure of 0');
          }),
        ],
        { consumer: 'a', startId: '0', retryBackoff: () => 50 },
      );
      for (let n = 0; n < 3; n++) await fx.client.dispatch('Orders', new RedisStreamsRecord({ n }, {}, { key: 'k' }));
      await waitFor(async () => calls.includes(2) && (await pendingCount(fx.admin, key, 'G')) === 0, 'all done');
      await sleep(500);
      expect(calls.filter((n) => n !== 0)).toEqual([1, 2]);
    },
    20_000,
  );
});
