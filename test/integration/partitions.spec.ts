import { PartitionCountMismatchError, RedisStreamsClient, RedisStreamsRecord } from 'nestjs-redis-streams';
import { partitionOf } from '../../libs/redis-streams/src/partitions/partition-keys.js';
import { leaseHolder, leaseKey } from '../../libs/redis-streams/src/partitions/partition-leases.js';
import { groupHandler, pendingCount, sleep } from '../support/handlers.js';
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

  /** The consumer names holding the leases of `Orders`'s partitions in group G. */
  const owners = (count: number): Promise<(string | null)[]> =>
    Promise.all(
      Array.from({ length: count }, async (_, p) => {
        const token = await fx.admin.get(leaseKey(fx.key(`Orders:p${p}`), 'G'));
        return leaseHolder(token)?.consumer ?? null;
      }),
    );

  it('gives each live instance a fair share of the partitions, one owner each, and rebalances when one leaves', async () => {
    const options = { partitions: { Orders: 4 }, partitionLeaseTime: 1000 };
    const handler = groupHandler('Orders', () => undefined);
    await fx.start([handler], { ...options, consumer: 'a' });
    await waitFor(async () => (await owners(4)).every((owner) => owner === 'a'), 'a owns all four');
    const b = await fx.start([handler], { ...options, consumer: 'b' });
    await waitFor(async () => {
      const now = await owners(4);
      return now.filter((o) => o === 'a').length === 2 && now.filter((o) => o === 'b').length === 2;
    }, 'two partitions each');
    await b.close();
    await waitFor(async () => (await owners(4)).every((owner) => owner === 'a'), 'a owns all four again');
  });

  it("handles one partition's entries one at a time in order across a handover, nothing lost or pending", async () => {
    const options = { partitions: { Orders: 4 }, partitionLeaseTime: 1000 };
    const running = new Map<number, number>();
    let overlaps = 0;
    const seen = new Map<string, number[]>();
    const handler = groupHandler('Orders', async (data, ctx) => {
      const partition = ctx.getPartition()!;
      running.set(partition, (running.get(partition) ?? 0) + 1);
      if (running.get(partition)! > 1) overlaps++;
      const { key, n } = data as { key: string; n: number };
      await sleep(2);
      seen.set(key, [...(seen.get(key) ?? []), n]);
      running.set(partition, running.get(partition)! - 1);
    });
    await fx.start([handler], { ...options, consumer: 'a' });
    const b = await fx.start([handler], { ...options, consumer: 'b' });
    await waitFor(async () => (await owners(4)).filter((o) => o === 'b').length === 2, 'b owns two partitions');
    const client = producer({ Orders: 4 });
    const emits: Promise<string>[] = [];
    for (let n = 0; n < 400; n++) {
      const key = `k${n % 8}`;
      emits.push(client.dispatch('Orders', new RedisStreamsRecord({ key, n }, {}, { key })));
      if (n === 200) void b.close();
      if (n % 50 === 0) await sleep(20);
    }
    await Promise.all(emits);
    await waitFor(() => [...seen.values()].reduce((sum, ns) => sum + new Set(ns).size, 0) === 400, 'all 400 handled');
    for (let p = 0; p < 4; p++) {
      await waitFor(async () => (await pendingCount(fx.admin, fx.key(`Orders:p${p}`), 'G')) === 0, `p${p} drained`);
    }
    expect(overlaps).toBe(0);
    for (const ns of seen.values()) {
      const firsts = ns.filter((n, i) => ns.indexOf(n) === i);
      expect(firsts).toEqual([...firsts].sort((x, y) => x - y));
    }
  });

  it("takes over a crashed owner's partition after its lease expires, handling its pending entries first, in order", async () => {
    const key = fx.key('Orders:p0');
    const client = producer({ Orders: 2 });
    // A consumer 'ghost' took p0, read three entries and died: its lease and heartbeat are left to expire.
    await fx.admin.set(fx.key('Orders:partitions'), '2');
    await fx.admin.xgroup('CREATE', key, 'G', '0', 'MKSTREAM');
    await fx.admin.xgroup('CREATE', fx.key('Orders:p1'), 'G', '0', 'MKSTREAM');
    for (let n = 0; n < 3; n++) await fx.admin.xadd(key, '*', 'data', JSON.stringify({ n }));
    await fx.admin.xreadgroup('GROUP', 'G', 'ghost', 'STREAMS', key, '>');
    await fx.admin.set(leaseKey(key, 'G'), '1:ghost', 'PX', 1500);
    const handled: number[] = [];
    await fx.start(
      [
        groupHandler(
          'Orders',
          (data, ctx) => void (ctx.getPartition() === 0 && handled.push((data as { n: number }).n)),
        ),
      ],
      {
        partitions: { Orders: 2 },
        partitionLeaseTime: 1000,
        consumer: 'a',
      },
    );
    const onP0 = ['a', 'b', 'c', 'd', 'e', 'f'].find((k) => partitionOf(k, 2) === 0)!;
    for (let n = 3; n < 6; n++) await client.dispatch('Orders', new RedisStreamsRecord({ n }, {}, { key: onP0 }));
    expect(await fx.admin.xlen(key)).toBe(6);
    await waitFor(() => handled.length === 6, "the ghost's entries and the new ones of p0 handled", 15_000);
    expect(handled).toEqual([0, 1, 2, 3, 4, 5]);
    expect(leaseHolder(await fx.admin.get(leaseKey(key, 'G')))).toEqual({ consumer: 'a', generation: 1 });
    await waitFor(async () => (await pendingCount(fx.admin, key, 'G')) === 0, 'nothing pending on p0');
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
