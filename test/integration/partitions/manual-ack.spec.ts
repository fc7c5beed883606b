// `ack: 'manual'` on a partition: the next entry starts only once the one before is acknowledged (`ctx.ack()`), so an
// entry its handler leaves unacked holds its partition. Found by review: it was finished unacked, the next one ran, its
// in-order ack was refused, and the replay repeated both in a loop.
import { RedisStreamsRecord } from 'nestjs-redis-streams';
import { groupHandler, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('manual acks on a partition', () => {
  const fx = useStreamFixture({ group: 'G', partitions: { Orders: 1 }, partitionLeaseTime: 1000 });
  it('keeps an entry left unacked in its place: the next one starts once it is acked, and nothing loops', async () => {
    const calls: number[] = [];
    let ackLater: (() => Promise<void>) | undefined;
    await fx.start(
      [
        groupHandler(
          'Orders',
          async (data, ctx) => {
            const { n } = data as { n: number };
            calls.push(n);
            if (n === 0) ackLater = () => ctx.ack();
            else await ctx.ack();
          },
          { ack: 'manual' },
        ),
      ],
      { consumer: 'a', maxDeliveries: 3 },
    );
    await fx.client.dispatch('Orders', new RedisStreamsRecord({ n: 0 }, {}, { key: 'k' }));
    await fx.client.dispatch('Orders', new RedisStreamsRecord({ n: 1 }, {}, { key: 'k' }));
    await waitFor(() => ackLater !== undefined, 'entry 0 ran');
    await sleep(1500);
    expect(calls).toEqual([0]);
    await ackLater!();
    await waitFor(() => calls.includes(1), 'entry 1 ran once entry 0 was acked');
    await sleep(500);
    expect(calls).toEqual([0, 1]);
  }, 20_000);

  it('runs each entry once when every entry is acked, a moment after its handler returned', async () => {
    const calls: number[] = [];
    await fx.start(
      [
        groupHandler(
          'Orders',
          (data, ctx) => {
            const { n } = data as { n: number };
            calls.push(n);
            // Acked once the work it started is confirmed elsewhere (a callback): every entry is acked, in order.
            setTimeout(() => void ctx.ack(), n % 2 === 0 ? 30 : 0);
          },
          { ack: 'manual' },
        ),
      ],
      { consumer: 'a', startId: '0' },
    );
    // Emitted together, so that they are read in one batch and each starts as soon as the one before returned.
    await Promise.all(
      [0, 1, 2, 3, 4, 5].map((n) => fx.client.dispatch('Orders', new RedisStreamsRecord({ n }, {}, { key: 'k' }))),
    );
    await waitFor(() => calls.includes(5), 'entry 5 ran');
    await sleep(1500);
    expect(calls).toEqual([0, 1, 2, 3, 4, 5]);
  }, 20_000);
});
