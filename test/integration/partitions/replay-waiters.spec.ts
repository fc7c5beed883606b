// Adversarial review of GroupReader.replay(): while a partition's order is broken and its running handler goes on,
// every turn of the read loop calls queue.drain(block), and a drain that times out leaves its waiter in the work
// queue until the handler ends: one closure more every `block` ms for as long as the handler runs (memory growth
// without bound for a handler that hangs).
import { RedisStreamsRecord } from 'nestjs-redis-streams';
import { groupHandler, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('replay while a handler runs on', () => {
  const fx = useStreamFixture({ group: 'G', partitions: { Orders: 1 }, partitionLeaseTime: 1000 });
  it('does not pile up work-queue waiters', async () => {
    let release!: () => void;
    const hung = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    const service = await fx.start(
      [
        groupHandler('Orders', async () => {
          started = true;
          await hung;
        }),
      ],
      { consumer: 'a', startId: '0', block: 20, shutdownTimeout: 200 },
    );
    await fx.client.dispatch('Orders', new RedisStreamsRecord({ n: 0 }, {}, { key: 'k' }));
    await waitFor(() => started, 'the handler started');
    // Break the order: the shared connection is killed and comes back ('ready').
    await fx.admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await sleep(3000);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const owner = (service.server as any).partitionOwners[0];
    const reader = owner.owned.get(0)?.reader ?? [...owner.leaving][0]?.reader;
    const waiters = reader.queue.waiters.length as number;
    release();
    expect(waiters).toBeLessThan(10);
  }, 20_000);
});
