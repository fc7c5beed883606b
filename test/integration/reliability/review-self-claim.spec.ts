// Found by the adversarial review of the split reader: a reader's own XAUTOCLAIM takes entries it holds when a refresh comes late (an event
// loop stalled past minIdleTime), raising their delivery count: a failing entry is then dead-lettered after fewer runs
// than maxDeliveries. This is also why test/integration/security.spec.ts (minIdleTime 100) is flaky. Failed on its first version.
import { groupHandler, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('own claims of held entries', () => {
  const fx = useStreamFixture({ group: 'G', consumerIdleTimeout: 0 });

  it('runs a failing entry maxDeliveries times although the event loop stalled while it waited for its retry', async () => {
    const key = fx.key('Jobs');
    const deliveries: number[] = [];
    await fx.start(
      [
        groupHandler('Jobs', (data, ctx) => {
          const { busy } = data as { busy?: boolean };
          if (busy) {
            const until = Date.now() + 1500; // a CPU-bound handler: nothing else runs meanwhile
            while (Date.now() < until);
            return;
          }
          deliveries.push(ctx.getDeliveryCount());
          throw new Error('fails');
        }),
      ],
      { maxDeliveries: 2, retryBackoff: () => 2500, minIdleTime: 1000, claimInterval: 50 },
    );
    await fx.client.dispatch('Jobs', { n: 1 });
    await waitFor(() => deliveries.length === 1, 'first run failed');
    await sleep(200);
    await fx.client.dispatch('Jobs', { busy: true });
    await waitFor(async () => (await fx.admin.xlen(`${key}:dead`)) === 1, 'dead-lettered', 15_000);
    expect(deliveries).toEqual([1, 2]);
  }, 30_000);
});
