// Found by the adversarial review of partition fencing: an owner cut off past its lease still started the entries it
// had read before (its queue), while the new owner, which had taken them over, ran them too: duplicates at once, and
// one key's entries run out of order across the group.
import { RedisStreamsClient, RedisStreamsRecord } from 'nestjs-redis-streams';
import { leaseHolder, leaseKey } from '../../../libs/redis-streams/src/partitions/partition-leases.js';
import { FreezingProxy } from '../../support/freezing-proxy.js';
import { groupHandler, pendingCount } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('a partition owner cut off past its lease', () => {
  const fx = useStreamFixture({ group: 'G', partitions: { Orders: 1 }, partitionLeaseTime: 1000 });
  let proxy: FreezingProxy;
  let client: RedisStreamsClient;
  beforeEach(async () => {
    client = new RedisStreamsClient({ connection: fx.redis.url, keyPrefix: fx.prefix, partitions: { Orders: 1 } });
    proxy = new FreezingProxy(fx.redis.port);
    await proxy.start();
  });
  afterEach(async () => {
    proxy.thaw();
    await client.close();
    await fx.closeServices();
    await proxy.stop();
  });

  it('starts none of the entries it had queued once its lease may have passed to another instance', async () => {
    const handled: { n: number; consumer: string }[] = [];
    const handledBy = (consumer: string): number[] => handled.filter((h) => h.consumer === consumer).map((h) => h.n);
    const handler = groupHandler('Orders', async (data, ctx) => {
      const { n } = data as { n: number };
      handled.push({ n, consumer: ctx.getConsumer() });
      // a is still running 0 when it is cut off, and finishes it only once b has taken the partition over and run 0.
      if (ctx.getConsumer() === 'a' && n === 0) await waitFor(() => handledBy('b').includes(0), 'b ran 0', 20_000);
    });
    await fx.start([handler], { connection: proxy.url, consumer: 'a' });
    for (let n = 0; n < 5; n++) await client.dispatch('Orders', new RedisStreamsRecord({ n }, {}, { key: 'k' }));
    await waitFor(
      async () => (await pendingCount(fx.admin, fx.key('Orders:p0'), 'G')) === 5 && handled.length === 1,
      'a read 0-4 and runs 0',
    );
    proxy.freeze();
    await fx.start([handler], { consumer: 'b' });
    await waitFor(() => handledBy('b').length === 5, 'b took the partition over and ran 0-4', 20_000);
    proxy.thaw();
    await waitFor(
      async () => leaseHolder(await fx.admin.get(leaseKey(fx.key('Orders:p0'), 'G')))?.consumer === 'b',
      'b holds the lease',
    );
    await waitFor(async () => (await pendingCount(fx.admin, fx.key('Orders:p0'), 'G')) === 0, 'nothing pending');
    // a ran 0 when it was cut off (no fence can undo that); it must start nothing it had queued behind it.
    expect({ a: handledBy('a'), b: handledBy('b') }).toEqual({ a: [0], b: [0, 1, 2, 3, 4] });
  }, 40_000);
});
