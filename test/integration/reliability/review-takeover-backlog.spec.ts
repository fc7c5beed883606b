// Found by the adversarial review of partition fencing: a new owner's reader starts by queueing the partition's pending
// entries a queue's room at a time, so with a backlog larger than `count` its start lasts until most of it is handled;
// the owner renewed its leases only between such steps, and lost the partition while taking it over.
import { leaseHolder, leaseKey } from '../../../libs/redis-streams/src/partitions/partition-leases.js';
import { groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('taking over a backlog', () => {
  const fx = useStreamFixture({ group: 'G', partitions: { Orders: 1 }, partitionLeaseTime: 1000 });

  it("keeps the partition's lease while it handles a backlog of many times `count` taken over at start", async () => {
    const key = fx.key('Orders:p0');
    // A consumer 'ghost' read 30 entries of p0 and died; its lease is gone.
    await fx.admin.set(fx.key('Orders:partitions'), '1');
    await fx.admin.xgroup('CREATE', key, 'G', '0', 'MKSTREAM');
    for (let n = 0; n < 30; n++) await fx.admin.xadd(key, '*', 'data', JSON.stringify({ n }));
    await fx.admin.xreadgroup('GROUP', 'G', 'ghost', 'STREAMS', key, '>');
    const handled: number[] = [];
    const handler = groupHandler('Orders', async (data) => {
      handled.push((data as { n: number }).n);
      await sleep(100); // 30 entries: three lease times
    });
    await fx.start([handler], { consumer: 'a', count: 5 });
    await waitFor(() => handled.length >= 30, 'the 30 entries handled', 20_000);
    await waitFor(async () => (await pendingCount(fx.admin, key, 'G')) === 0, 'nothing pending on p0');
    expect(handled).toEqual(Array.from({ length: 30 }, (_, n) => n));
    // Never lost: still the first acquisition.
    expect(leaseHolder(await fx.admin.get(leaseKey(key, 'G')))).toEqual({ consumer: 'a', generation: 1 });
  }, 40_000);
});
