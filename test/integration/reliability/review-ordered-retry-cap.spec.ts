// Found by the adversarial review of partition fencing and ordered retries: with dead-lettering off, an entry of a
// partition that reached maxDeliveries was to be retried until it succeeds, but its retry's claim raised its count past
// the cap and the reader then left it pending unrun, so the partition's next entries overtook it.
import { RedisStreamsClient, RedisStreamsRecord } from 'nestjs-redis-streams';
import { groupHandler, pendingCount } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('ordered retries past the cap', () => {
  const fx = useStreamFixture({ group: 'G', partitions: { Orders: 1 }, partitionLeaseTime: 1000 });
  let client: RedisStreamsClient;
  beforeEach(() => {
    client = new RedisStreamsClient({ connection: fx.redis.url, keyPrefix: fx.prefix, partitions: { Orders: 1 } });
  });
  afterEach(() => client.close());

  it('keeps retrying a capped entry with dead-lettering off, and runs nothing after it meanwhile', async () => {
    const calls: string[] = [];
    let failuresLeft = 3; // one more than maxDeliveries: the last failure is at the cap
    await fx.start(
      [
        groupHandler('Orders', (data) => {
          const { n } = data as { n: number };
          const fail = n === 1 && failuresLeft-- > 0;
          calls.push(`${n}${fail ? '!' : ''}`);
          if (fail) throw new Error(`planned failure of ${n}`);
        }),
      ],
      { retryBackoff: () => 100, maxDeliveries: 2, deadLetterStream: false, consumer: 'a' },
    );
    for (let n = 0; n < 4; n++) await client.dispatch('Orders', new RedisStreamsRecord({ n }, {}, { key: 'k' }));
    await waitFor(() => calls.includes('3'), 'entry 3 ran');
    expect(calls).toEqual(['0', '1!', '1!', '1!', '1', '2', '3']);
    await waitFor(async () => (await pendingCount(fx.admin, fx.key('Orders:p0'), 'G')) === 0, 'nothing pending');
  }, 20_000);
});
