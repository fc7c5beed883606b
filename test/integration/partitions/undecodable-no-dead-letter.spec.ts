// An entry that can't be decoded (here: over maxPayloadBytes) on a partition with dead-lettering off can be neither run
// nor dead-lettered: it blocks its partition, tried again after the backoff, as a failing entry does. Found by review:
// it was finished unsettled, so the next entry ran, its in-order ack was refused, and the replay repeated it in a loop.
import { RedisStreamsRecord } from 'nestjs-redis-streams';
import { groupHandler, sleep } from '../../support/handlers.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('an undecodable entry on a partition with dead-lettering off', () => {
  const fx = useStreamFixture({ group: 'G', partitions: { Orders: 1 }, partitionLeaseTime: 1000 });
  it('keeps its place and is tried again after the backoff; the next entry of the key waits', async () => {
    const calls: number[] = [];
    await fx.start(
      [
        groupHandler('Orders', (data) => {
          calls.push((data as { n: number }).n);
        }),
      ],
      { deadLetterStream: false, maxPayloadBytes: 2000, consumer: 'a', retryBackoff: () => 500 },
    );
    await fx.client.dispatch('Orders', new RedisStreamsRecord({ n: 0, pad: 'x'.repeat(5000) }, {}, { key: 'k' }));
    await fx.client.dispatch('Orders', new RedisStreamsRecord({ n: 1 }, {}, { key: 'k' }));
    await sleep(2600);
    // Entry 1 never overtook entry 0, which was tried again every 500 ms (each try counted), not in a hot loop.
    expect(calls).toEqual([]);
    const pending = (await fx.admin.xpending(fx.key('Orders:p0'), 'G', '-', '+', 10)) as [
      string,
      string,
      number,
      number,
    ][];
    expect(pending).toHaveLength(2);
    expect(pending[0][3]).toBeGreaterThanOrEqual(3);
    expect(pending[0][3]).toBeLessThanOrEqual(8);
  }, 20_000);
});
