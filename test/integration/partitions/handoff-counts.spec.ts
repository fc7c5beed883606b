// Adversarial review of partition hand-offs: entries a partition's reader had queued but not started when it closed
// (a rolling deploy, a hand-back) stay pending with it; the next owner takes them over (counts kept) and then its
// reader's start-up recovery of own pending entries re-reads them with XREADGROUP <id>, which raises each count by one.
// So every hand-off raises the counts of the next `count` entries without running them; after maxDeliveries hand-offs
// an entry that never ran is dead-lettered unrun ("Delivered N times without success").
import { RedisStreamsRecord } from 'nestjs-redis-streams';
import { groupHandler, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('hand-offs of a partition and delivery counts', () => {
  const fx = useStreamFixture({
    group: 'G',
    partitions: { Orders: 1 },
    partitionLeaseTime: 1000,
    shutdownTimeout: 2000,
  });
  it('does not dead-letter entries that never ran after a few rolling restarts', async () => {
    const runs: string[] = [];
    const handler = groupHandler('Orders', async (data) => {
      runs.push(String((data as { n: number }).n));
      await sleep(150);
    });
    for (let n = 0; n < 12; n++) await fx.client.dispatch('Orders', new RedisStreamsRecord({ n }, {}, { key: 'k' }));
    // Three instances one after the other, each closed while it runs an entry (a rolling deploy), then a fourth.
    for (const consumer of ['a', 'b', 'c']) {
      const before = runs.length;
      const service = await fx.start([handler], { consumer, maxDeliveries: 3, count: 10, startId: '0' });
      await waitFor(() => runs.length > before, `${consumer} ran an entry`);
      await service.close();
    }
    await fx.start([handler], { consumer: 'd', maxDeliveries: 3, count: 10, startId: '0' });
    await waitFor(
      async () => new Set(runs).size + (await fx.admin.xlen(fx.key('Orders:p0:dead'))) >= 12,
      'every entry ran or was dead-lettered',
    );
    await sleep(500);
    const dead = await fx.admin.xrange(fx.key('Orders:p0:dead'), '-', '+');
    const never = [...Array(12).keys()].map(String).filter((n) => !runs.includes(n));
    // No handler ever failed: nothing may be dead-lettered, least of all entries that never ran.
    expect({ dead: dead.length, never }).toEqual({ dead: 0, never: [] });
  }, 40_000);
});
