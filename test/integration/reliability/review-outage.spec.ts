// Found by the adversarial review of the split reader: the outage rule of failure-policy.ts. Each test failed on its first version.
import type { Redis } from 'ioredis';
import type { RedisStreamsClient } from 'nestjs-redis-streams';
import { groupHandler, pendingCount } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('outage rule', () => {
  const fx = useStreamFixture({ group: 'G', consumerIdleTimeout: 0 });
  let admin: Redis;
  let client: RedisStreamsClient;
  let key: string;
  beforeEach(() => {
    ({ admin, client } = fx);
    key = fx.key('Jobs');
  });

  it('does not dead-letter unrun the entries an outage kept pending when their consumer restarts', async () => {
    let down = true;
    const ran = new Set<number>();
    const failed = new Map<number, number>();
    const handler = groupHandler('Jobs', (data) => {
      const { n } = data as { n: number };
      if (down) {
        failed.set(n, (failed.get(n) ?? 0) + 1);
        throw new Error('downstream is down');
      }
      ran.add(n);
    });
    // maxDeliveries 2; retries at the cap wait long (as with the default backoff at 60 s).
    const options = {
      consumer: 'A',
      count: 30,
      concurrency: 10,
      maxDeliveries: 2,
      minIdleTime: 1000,
      claimInterval: 200,
      startId: '0',
      retryBackoff: (n: number) => (n >= 2 ? 60_000 : 20),
    };
    // A backlog meets a downstream outage.
    for (let n = 0; n < 30; n++) await client.dispatch('Jobs', { n });
    const a = await fx.start([handler], options);
    // The outage is detected (30 different entries failed): every entry reaches the cap and is kept pending, its count
    // in Redis set one below the cap.
    await waitFor(async () => {
      const rows = (await admin.xpending(key, 'G', '-', '+', 100)) as [string, string, number, number][];
      const capped = [...failed.values()].filter((runs) => runs >= 2).length === 30;
      return capped && rows.length === 30 && rows.every((row) => row[3] === 1);
    }, 'all 30 kept pending below the cap');
    expect(await admin.xlen(`${key}:dead`)).toBe(0);
    // A rolling restart during the outage, and the downstream comes back.
    await a.close();
    down = false;
    await fx.start([handler], { ...options, consumer: 'A2' });
    await waitFor(async () => (await pendingCount(admin, key, 'G')) === 0, 'all handled', 15_000);
    // "a consumer that takes them over after a crash runs them again rather than dead-lettering them unrun"
    expect({ ran: ran.size, dead: await admin.xlen(`${key}:dead`) }).toEqual({ ran: 30, dead: 0 });
  }, 30_000);

  it('dead-letters a burst of poison entries longer than the outage threshold once good entries behind it succeed', async () => {
    const good: number[] = [];
    await fx.start(
      [
        groupHandler('Jobs', (data) => {
          const { n, poison } = data as { n: number; poison?: boolean };
          if (poison) throw new Error('poison');
          good.push(n);
        }),
      ],
      { consumer: 'A', count: 50, concurrency: 2, maxDeliveries: 2, minIdleTime: 5000, retryBackoff: () => 50 },
    );
    // More poison in a row than OUTAGE_ENTRIES (20), but within the reader's window: the good ones behind it are read.
    for (let n = 0; n < 30; n++) await client.dispatch('Jobs', { n, poison: true });
    for (let n = 30; n < 35; n++) await client.dispatch('Jobs', { n });
    await waitFor(
      async () => good.length === 5 && (await admin.xlen(`${key}:dead`)) === 30,
      'the good entries handled and the poison ones dead-lettered',
      30_000,
    );
  }, 45_000);
});
