// Found by the adversarial review of the split reader: close() while Redis is unreachable. Failed on its first version.
import { groupHandler } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('close() bound with Redis down', () => {
  const fx = useStreamFixture({ group: 'G', consumerIdleTimeout: 0 });

  it('returns within shutdownTimeout + 5 s when Redis is down and a handler never settles', async () => {
    const shutdownTimeout = 6000;
    let started = 0;
    const service = await fx.start(
      [
        groupHandler('Jobs', () => {
          started++;
          return new Promise(() => undefined); // never settles
        }),
      ],
      { minIdleTime: 1500, shutdownTimeout },
    );
    await fx.client.dispatch('Jobs', { n: 1 });
    await waitFor(() => started === 1, 'handler started');
    await fx.redis.kill('SIGKILL');
    await fx.client.close();
    const t0 = Date.now();
    await service.close();
    const took = Date.now() - t0;
    await fx.redis.restart(); // for the fixture's clean-up
    // Reader: drain (shutdownTimeout) + loop (1 s) + writes (2 s); then the server's quit() waits shutdownTimeout again.
    expect(took).toBeLessThan(shutdownTimeout + 5000);
  }, 40_000);
});
