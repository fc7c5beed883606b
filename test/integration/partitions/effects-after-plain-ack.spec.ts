// Adversarial review of ack-in-order-1 / the in-order flag of ack-effects: a plain ack is buffered until the next
// setImmediate, but an ack with effects is sent at once. On a partition, an entry without effects finishes, the next one
// (declaring effects) starts at once and, if quick, sends its ack-with-effects before the buffered plain ack of the one
// before: Redis refuses it as out of order (-2), the reader breaks order and replays, and the handler of the second
// entry runs twice, with no fault at all (no reconnect, no failover, no pause).
import { groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('effects after a plain ack on a partition', () => {
  const fx = useStreamFixture({ group: 'G', partitions: { Orders: 1 }, partitionLeaseTime: 1000 });
  it('runs each entry once when nothing fails', async () => {
    const calls: number[] = [];
    const counter = `${fx.prefix}count`;
    await fx.start(
      [
        groupHandler('Orders', (data, ctx) => {
          const { n } = data as { n: number };
          calls.push(n);
          if (n % 2 === 1) ctx.effects.incrBy(counter, 1); // odd entries declare an effect, even ones don't
        }),
      ],
      { consumer: 'a', startId: '0' },
    );
    await sleep(300);
    const key = fx.key('Orders:p0');
    // Written in one go so that they are read in one batch (the reader prefetches them: no read between them).
    const pipeline = fx.admin.pipeline();
    for (let n = 0; n < 20; n++) pipeline.xadd(key, '*', 'data', JSON.stringify({ n }));
    await pipeline.exec();
    await waitFor(async () => (await pendingCount(fx.admin, key, 'G')) === 0 && calls.length >= 20, 'all acked');
    await sleep(500);
    expect(await fx.admin.get(counter)).toBe('10');
    expect(calls.length).toBe(20); // each entry ran once
  }, 20_000);
});
