// Found by the adversarial review of partition fencing: a partitioned server's close() waited for its lease tick, whose
// commands never settle while Redis is unreachable, so close() never returned.
import { RedisStreamsClient, RedisStreamsRecord } from 'nestjs-redis-streams';
import { groupHandler, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('close() of a partitioned server with Redis down', () => {
  const fx = useStreamFixture({ group: 'G', partitions: { Orders: 2 }, partitionLeaseTime: 1000 });

  it('returns within shutdownTimeout + 7 s when Redis is down and a handler never settles', async () => {
    const shutdownTimeout = 3000;
    let started = 0;
    const service = await fx.start(
      [
        groupHandler('Orders', () => {
          started++;
          return new Promise(() => undefined); // never settles
        }),
      ],
      { shutdownTimeout },
    );
    const client = new RedisStreamsClient({
      connection: fx.redis.url,
      keyPrefix: fx.prefix,
      partitions: { Orders: 2 },
    });
    await client.dispatch('Orders', new RedisStreamsRecord({ n: 1 }, {}, { key: 'k' }));
    await client.close();
    await waitFor(() => started === 1, 'handler started');
    await fx.redis.kill('SIGKILL');
    await fx.client.close();
    await sleep(1000); // a lease tick is under way, waiting for Redis
    const t0 = Date.now();
    const closed = await Promise.race([service.close().then(() => true), sleep(30_000).then(() => false)]);
    const took = Date.now() - t0;
    await fx.redis.restart(); // for the fixture's clean-up
    expect(closed).toBe(true);
    // Reader: stop reading (1 s) + drain (shutdownTimeout) + writes (2 s) + its consumer's removal (1 s); then the
    // lease's release (1 s) and the server's QUIT (1 s).
    expect(took).toBeLessThan(shutdownTimeout + 7000);
  }, 60_000);
});
