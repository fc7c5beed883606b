// Found by the adversarial review of partition fencing: an owner renewed its leases only between hand-backs, and a
// hand-back waits for the partition's running entry. While it waited, its other partitions' leases lapsed and another
// instance took them over, running again an entry this healthy owner was still running.
import { RedisStreamsClient, RedisStreamsRecord } from 'nestjs-redis-streams';
import { partitionOf } from '../../../libs/redis-streams/src/partitions/partition-keys.js';
import { groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { RunLog } from '../../support/run-log.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('renewing leases while a partition is handed back', () => {
  const fx = useStreamFixture({ group: 'G', partitions: { Orders: 2 }, partitionLeaseTime: 1000 });
  let client: RedisStreamsClient;
  beforeEach(() => {
    client = new RedisStreamsClient({ connection: fx.redis.url, keyPrefix: fx.prefix, partitions: { Orders: 2 } });
  });
  afterEach(() => client.close());

  it("keeps an owner's partitions while it waits for a running entry of the one it gives back", async () => {
    const log = new RunLog();
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    // a's runs last until the test ends them; b's are quick.
    const handler = groupHandler(
      'Orders',
      log.wrap((_data, ctx) => (ctx.getConsumer() === 'a' ? finished : undefined)),
    );
    await fx.start([handler], { consumer: 'a', shutdownTimeout: 20_000 }); // owns p0 and p1
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
    for (const partition of [0, 1]) {
      const key = keys.find((k) => partitionOf(k, 2) === partition)!;
      await client.dispatch('Orders', new RedisStreamsRecord({ partition }, {}, { key }));
    }
    await waitFor(() => log.runs.length === 2, 'a runs one entry of each partition');
    // b joins: a gives p1 back, which waits for p1's running entry; p0 stays a's.
    await fx.start([handler], { consumer: 'b' });
    await sleep(4000); // four lease times
    finish();
    await waitFor(async () => (await pendingCount(fx.admin, fx.key('Orders:p0'), 'G')) === 0, 'nothing pending on p0');
    await waitFor(async () => (await pendingCount(fx.admin, fx.key('Orders:p1'), 'G')) === 0, 'nothing pending on p1');
    expect(log.runs.map((run) => run.consumer)).toEqual(['a', 'a']);
  }, 40_000);
});
