import { RedisStreamsClient, RedisStreamsRecord } from 'nestjs-redis-streams';
import { partitionsOf } from '../../../libs/redis-streams/src/partitions/partition-assignment.js';
import { leaseHolder, leaseKey } from '../../../libs/redis-streams/src/partitions/partition-leases.js';
import { groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

interface Run {
  n: number;
  key: string;
  consumer: string;
  start: number;
  end?: number;
  ok?: boolean;
}

/**
 * Issue 18, defects 1, 3 and 5: partitions that never got an owner when the counts don't divide evenly, a hand-back
 * that let the next owner start an entry still running here, and a partition that never read its own pending entries
 * again after an ack was refused.
 */
describe('partition ownership', () => {
  const fx = useStreamFixture({ group: 'G', partitionLeaseTime: 1000, shutdownTimeout: 300 });
  const clients: RedisStreamsClient[] = [];
  afterEach(async () => {
    await fx.closeServices();
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  const clientFor = (count: number): RedisStreamsClient => {
    const client = new RedisStreamsClient({
      connection: fx.redis.url,
      keyPrefix: fx.prefix,
      partitions: { Orders: count },
    });
    clients.push(client);
    return client;
  };
  const emit = (client: RedisStreamsClient, n: number, key: string) =>
    client.dispatch('Orders', new RedisStreamsRecord({ n, key }, {}, { key }));
  const partitionKey = (p: number): string => fx.key(`Orders:p${p}`);
  const holder = async (p: number) => leaseHolder(await fx.admin.get(leaseKey(partitionKey(p), 'G')));
  const pendingEverywhere = async (count: number): Promise<number> => {
    let sum = 0;
    for (let p = 0; p < count; p++) sum += await pendingCount(fx.admin, partitionKey(p), 'G').catch(() => 0);
    return sum;
  };
  /** A name for a second member that the assignment gives partition 0 of `count`, the first member being `first`. */
  const joinerTaking0 = (count: number, first: string): string => {
    for (let i = 0; i < 1000; i++) if (partitionsOf(count, [first, `j${i}`], `j${i}`).has(0)) return `j${i}`;
    throw new Error('no joiner name found');
  };

  it.each([
    [3, 2],
    [1, 2],
    [4, 3],
    [7, 4],
  ])(
    'handles every entry of %i partitions over %i instances',
    async (count, instances) => {
      const runs: Run[] = [];
      const handler = groupHandler('Orders', (data, ctx) => {
        const { n, key } = data as { n: number; key: string };
        runs.push({ n, key, consumer: ctx.getConsumer(), start: performance.now() });
      });
      const options = { partitions: { Orders: count } };
      for (let i = 0; i < instances; i++) await fx.start([handler], { ...options, consumer: `m${i}` });
      await sleep(700); // every member has seen the others (a heartbeat is every third of the lease)
      const client = clientFor(count);
      const total = 10 * count;
      for (let n = 0; n < total; n++) await emit(client, n, `k${n % (3 * count)}`);
      await waitFor(() => new Set(runs.map((r) => r.n)).size === total, `all ${total} entries handled`, 10_000);
      // Then each live member owns its share: none is left idle while another holds more than one more than it.
      await waitFor(async () => {
        const owners = await Promise.all(Array.from({ length: count }, (_, p) => holder(p)));
        const shares = Array.from(
          { length: instances },
          (_, i) => owners.filter((o) => o?.consumer === `m${i}`).length,
        );
        return owners.every((o) => o !== null) && Math.max(...shares) - Math.min(...shares) <= 1;
      }, 'even shares, every partition owned');
    },
    20_000,
  );

  it('gives a partition to a joining instance only after its running entry ended', async () => {
    const runs: Run[] = [];
    const handler = groupHandler('Orders', async (data, ctx) => {
      const { n, key } = data as { n: number; key: string };
      const run: Run = { n, key, consumer: ctx.getConsumer(), start: performance.now() };
      runs.push(run);
      if (n === 1) await sleep(2500); // well past shutdownTimeout (300 ms) and the lease (1 s)
      run.end = performance.now();
    });
    const options = { partitions: { Orders: 1 } };
    await fx.start([handler], { ...options, consumer: 'a' });
    const client = clientFor(1);
    await emit(client, 1, 'k');
    await emit(client, 2, 'k');
    await waitFor(() => runs.length === 1, 'entry 1 started on a');
    await fx.start([handler], { ...options, consumer: joinerTaking0(1, 'a') });
    await waitFor(() => runs.some((r) => r.n === 2 && r.end !== undefined), 'entry 2 handled', 10_000);
    await sleep(500);
    // Entry 1 ran once, on a; entry 2 started only after entry 1 ended, on the joiner.
    expect(runs.map((r) => [r.n, r.consumer])).toEqual([
      [1, 'a'],
      [2, joinerTaking0(1, 'a')],
    ]);
    expect(runs[1].start).toBeGreaterThanOrEqual(runs[0].end!);
    expect(await pendingEverywhere(1)).toBe(0);
  }, 20_000);

  it('leaves the lease of a handler still running at close() to expire instead of giving it back', async () => {
    const runs: Run[] = [];
    const handler = groupHandler('Orders', async (data, ctx) => {
      const { n, key } = data as { n: number; key: string };
      const run: Run = { n, key, consumer: ctx.getConsumer(), start: performance.now() };
      runs.push(run);
      if (n === 1 && run.consumer === 'a') await sleep(3000);
      run.end = performance.now();
    });
    const a = await fx.start([handler], { partitions: { Orders: 1 }, consumer: 'a' });
    const client = clientFor(1);
    await emit(client, 1, 'k');
    await emit(client, 2, 'k');
    await waitFor(() => runs.length === 1, 'entry 1 started on a');
    await a.close();
    // Given back now, the lease would let the next owner start entry 1 while it still runs here.
    expect((await holder(0))?.consumer).toBe('a');
    await fx.start([handler], { partitions: { Orders: 1 }, consumer: 'b' });
    await waitFor(() => runs.filter((r) => r.consumer === 'b').length === 2, 'b ran entries 1 and 2', 10_000);
    const onB = runs.filter((r) => r.consumer === 'b');
    expect(onB.map((r) => r.n)).toEqual([1, 2]);
    await waitFor(() => runs[0].end !== undefined, "a's run of entry 1 ended");
    await sleep(300);
    expect(await pendingEverywhere(1)).toBe(0);
  }, 20_000);

  it('reads its own pending entries again, in order, when an ack was refused', async () => {
    const runs: Run[] = [];
    let stolen = false;
    const handler = groupHandler('Orders', async (data, ctx) => {
      const { n, key } = data as { n: number; key: string };
      const run: Run = { n, key, consumer: ctx.getConsumer(), start: performance.now() };
      runs.push(run);
      await sleep(5);
      if (n === 2 && !stolen) {
        // Its ack will be refused: the entry is someone else's now (as after a lost ack, or a claim that went wrong).
        stolen = true;
        await fx.admin.xclaim(partitionKey(0), 'G', 'ghost', 0, ctx.getId(), 'JUSTID');
      }
      run.end = performance.now();
      run.ok = true;
    });
    await fx.start([handler], { partitions: { Orders: 1 }, consumer: 'a' });
    const client = clientFor(1);
    for (let n = 0; n < 8; n++) await emit(client, n, 'k');
    await waitFor(async () => runs.length >= 8 && (await pendingEverywhere(1)) === 0, 'all acked', 10_000);
    // The last successful run of each entry comes after the last successful run of the entry before it: whatever ran
    // ahead of the refused ack ran again after it.
    const lastEnd = (n: number): number => Math.max(...runs.filter((r) => r.n === n && r.ok).map((r) => r.end!));
    for (let n = 1; n < 8; n++) expect(lastEnd(n)).toBeGreaterThan(lastEnd(n - 1));
    expect(runs.filter((r) => r.n === 2).length).toBe(2);
  }, 20_000);
});
