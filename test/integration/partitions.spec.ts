import { PartitionCountMismatchError, RedisStreamsClient, RedisStreamsRecord } from 'nestjs-redis-streams';
import { groupHandler } from '../support/handlers.js';
import { waitFor } from '../support/redis-server.js';
import { useStreamFixture } from '../support/stream-fixture.js';

describe('partitioned streams', () => {
  const fx = useStreamFixture({ group: 'G', claimInterval: 0 });
  const clients: RedisStreamsClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  const producer = (partitions: Record<string, number>) => {
    const client = new RedisStreamsClient({ connection: fx.redis.url, keyPrefix: fx.prefix, partitions });
    clients.push(client);
    return client;
  };

  it('routes one key always to one partition in emit order, and spreads keyless entries evenly', async () => {
    const client = producer({ Orders: 4 });
    for (let i = 0; i < 40; i++) {
      client.emit('Orders', new RedisStreamsRecord({ customer: `c${i % 5}`, n: i }, {}, { key: `c${i % 5}` }));
    }
    await Promise.all(Array.from({ length: 40 }, (_, i) => client.dispatch('Orders', { keyless: i })));
    const byCustomer = new Map<string, { partition: number; ns: number[] }>();
    const keyless: number[] = [];
    for (let p = 0; p < 4; p++) {
      for (const [, fields] of await fx.admin.xrange(fx.key(`Orders:p${p}`), '-', '+')) {
        const data = JSON.parse(fields[1]) as { customer?: string; n?: number; keyless?: number };
        if (data.customer === undefined) {
          keyless.push(p);
          continue;
        }
        const seen = byCustomer.get(data.customer) ?? { partition: p, ns: [] };
        expect(seen.partition).toBe(p);
        seen.ns.push(data.n!);
        byCustomer.set(data.customer, seen);
      }
    }
    expect(byCustomer.size).toBe(5);
    for (const { ns } of byCustomer.values()) expect(ns).toEqual([...ns].sort((a, b) => a - b));
    for (let p = 0; p < 4; p++) expect(keyless.filter((q) => q === p)).toHaveLength(10);
    expect(await fx.admin.get(fx.key('Orders:partitions'))).toBe('4');
  });

  it('consumes every partition through the group and tells the handler its partition', async () => {
    const seen = new Map<number, number | undefined>();
    await fx.start([groupHandler('Orders', (data, ctx) => void seen.set(data as number, ctx.getPartition()))], {
      partitions: { Orders: 3 },
    });
    const client = producer({ Orders: 3 });
    for (let i = 0; i < 30; i++) client.emit('Orders', i);
    await waitFor(() => seen.size === 30, 'all 30 entries handled');
    expect(new Set(seen.values())).toEqual(new Set([0, 1, 2]));
  });

  it('refuses a producer or a consumer with another partition count than the recorded one', async () => {
    await producer({ Orders: 4 }).dispatch('Orders', 'first');
    const other = producer({ Orders: 8 });
    const failure = await other.dispatch('Orders', 'x').catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(PartitionCountMismatchError);
    expect(String(failure)).toMatch(/configured with 8 partitions, but Redis records 4.*partitions: \{ 'Orders': 4 \}/);
    await expect(
      fx.start([groupHandler('Orders', () => undefined)], { partitions: { Orders: 2 } }),
    ).rejects.toBeInstanceOf(PartitionCountMismatchError);
  });

  it('refuses a partition count that is not a whole number, naming the option', () => {
    expect(() => new RedisStreamsClient({ partitions: { Orders: 0 } })).toThrow(/`partitions`/);
  });
});
