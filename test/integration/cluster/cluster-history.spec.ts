import { rmSync } from 'node:fs';
import type { Cluster } from 'ioredis';
import { RedisStreamsClient, RedisStreamsRecord, StreamHistory } from 'nestjs-redis-streams';
import { keySlot } from '../../../libs/redis-streams/src/cluster/key-slot.js';
import { partitionKey, partitionOf } from '../../../libs/redis-streams/src/partitions/partition-keys.js';
import { compareIds } from '../../../libs/redis-streams/src/redis/stream-commands.js';
import { type BuiltCli, buildCli, runCli } from '../../support/cli-process.js';
import { groupHandler } from '../../support/handlers.js';
import { startService, type TestService } from '../../support/nest-app.js';
import { RedisCluster } from '../../support/redis-cluster.js';
import { randomName, waitFor } from '../../support/redis-server.js';

// History and replay (start ids as times, StreamHistory) together with the cluster's own layout: readers per slot and
// partitioned streams, whose partitions live on different masters.
describe('history and replay on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let admin: Cluster;
  let service: TestService | undefined;
  let client: RedisStreamsClient | undefined;
  let prefix: string;
  let cli: BuiltCli;

  beforeAll(async () => {
    cli = buildCli();
    cluster = await RedisCluster.start();
    admin = cluster.client();
  }, 90_000);
  beforeEach(() => {
    prefix = `${randomName()}:`;
  });
  afterEach(async () => {
    await service?.close();
    await client?.close();
    service = client = undefined;
  });
  afterAll(async () => {
    admin?.disconnect();
    await cluster?.stop();
    if (cli) rmSync(cli.dir, { recursive: true, force: true });
  });

  const json = (n: string): string[] => ['data', JSON.stringify({ n })];
  const n = (data: unknown): string => (data as { n: string }).n;

  /** Entries one ms before `t`, at `t` and after it on `key`; `t` is a minute ago. */
  async function addPastEntries(key: string, t: number, tag: string): Promise<void> {
    await admin.xadd(key, `${t - 1}-0`, ...json(`${tag}-before`));
    await admin.xadd(key, `${t}-0`, ...json(`${tag}-at`));
    await admin.xadd(key, `${t + 1}-0`, ...json(`${tag}-after`));
  }

  it('starts a new group at a time on a plain stream and on every partition of a partitioned one', async () => {
    const t = Date.now() - 60_000;
    await addPastEntries(`${prefix}Email`, t, 'email');
    for (const partition of [0, 1, 2]) {
      await addPastEntries(partitionKey(`${prefix}Parts`, partition), t, `p${partition}`);
    }
    const seen: string[] = [];
    service = await startService(
      [
        groupHandler('Email', (data) => void seen.push(n(data))),
        groupHandler('Parts', (data) => void seen.push(n(data))),
      ],
      {
        connection: { cluster: cluster.startupNodes },
        keyPrefix: prefix,
        group: 'Late',
        startId: new Date(t),
        partitions: { Parts: 3 },
        claimInterval: 0,
      },
    );
    await waitFor(() => seen.length === 8, 'the entries at and after the time, of the stream and each partition');
    expect([...seen].sort()).toEqual(
      ['email', 'p0', 'p1', 'p2'].flatMap((tag) => [`${tag}-after`, `${tag}-at`]).sort(),
    );
    // Nothing before the time was delivered, and every group was created with a lag Redis can tell.
    for (const key of [`${prefix}Email`, ...[0, 1, 2].map((p) => partitionKey(`${prefix}Parts`, p))]) {
      await waitFor(async () => {
        const [group] = (await admin.xinfo('GROUPS', key)) as unknown[][];
        const info = Object.fromEntries(
          Array.from({ length: group.length / 2 }, (_, i) => [group[2 * i], group[2 * i + 1]]),
        );
        return info.lag === 0 && info.pending === 0;
      }, `the group on ${key} to have read and acked everything`);
    }
  });

  it('reads history and moves a group back through a Cluster connection', async () => {
    const t = Date.now() - 60_000;
    const key = `${prefix}Email`;
    await addPastEntries(key, t, 'email');
    await admin.xgroup('CREATE', key, 'G', '$');
    const history = new StreamHistory(admin, { keyPrefix: prefix });
    expect((await history.list('Email', { since: new Date(t) })).map((entry) => n(entry.data))).toEqual([
      'email-at',
      'email-after',
    ]);
    const moved = await history.resetGroup('Email', 'G', new Date(t));
    expect(moved.toRead).toBe(2);
    client = new RedisStreamsClient({
      connection: { cluster: cluster.startupNodes },
      keyPrefix: prefix,
      maxAge: 3_600_000,
    });
    await client.dispatch('Email', { n: 'email-now' });
    // Trimming by age (an hour) at each emit keeps the minute-old entries.
    expect(await admin.xlen(key)).toBe(4);
  });

  it('reads a partitioned stream as one and moves its group on every partition, one command per partition key', async () => {
    const keys = [0, 1, 2, 3].map((p) => partitionKey(`${prefix}Orders`, p));
    // The partitions are in different slots: a command naming two of them would fail with CROSSSLOT.
    expect(new Set(keys.map(keySlot)).size).toBeGreaterThan(1);
    client = new RedisStreamsClient({
      connection: { cluster: cluster.startupNodes },
      keyPrefix: prefix,
      partitions: { Orders: 4 },
    });
    for (let n = 0; n < 24; n++) {
      await client.dispatch('Orders', new RedisStreamsRecord({ n }, {}, { key: `k${n % 6}` }));
    }
    for (const key of keys) await admin.xgroup('CREATE', key, 'G', '$');
    const history = new StreamHistory(admin, { keyPrefix: prefix });
    const entries = await history.list('Orders', { pageSize: 5 });
    expect(entries).toHaveLength(24);
    for (const [i, entry] of entries.entries()) {
      const { n } = entry.data as { n: number };
      expect(entry.partition).toBe(partitionOf(`k${n % 6}`, 4));
      if (i > 0) expect(compareIds(entries[i - 1].id, entry.id)).toBeLessThanOrEqual(0);
    }
    expect((await history.list('Orders', { reverse: true })).map((entry) => entry.id)).toEqual(
      entries.map((entry) => entry.id).reverse(),
    );
    const moved = await history.resetGroup('Orders', 'G', new Date(Number(entries[0].id.split('-')[0])));
    expect(moved.toRead).toBe(24);
    const perPartition = [0, 1, 2, 3].map((p) => entries.filter((entry) => entry.partition === p).length);
    expect(moved.partitions?.map((move) => move.toRead)).toEqual(perPartition);
    const nodes = cluster.startupNodes.map(({ host, port }) => `${host}:${port}`).join(',');
    const reset = await runCli(cli.main, [
      ...['group', 'reset', 'Orders', 'G', '--to', '$'],
      ...['--cluster', nodes, '--prefix', prefix, '--json'],
    ]);
    expect(reset.stderr).toBe('');
    expect((JSON.parse(reset.stdout) as { toRead: number; partitions: unknown[] }).partitions).toHaveLength(4);
  });

  it('reads history, tails and resets a group from the CLI with --cluster', async () => {
    const t = Date.now() - 60_000;
    const key = `${prefix}Email`;
    await addPastEntries(key, t, 'email');
    await admin.xgroup('CREATE', key, 'G', '$');
    const nodes = cluster.startupNodes.map(({ host, port }) => `${host}:${port}`).join(',');
    const run = (...args: string[]) => runCli(cli.main, [...args, '--cluster', nodes, '--prefix', prefix, '--json']);
    const history = await run('history', 'Email', '--since', new Date(t).toISOString());
    expect(history.stderr).toBe('');
    const report = JSON.parse(history.stdout) as { entries: { data: unknown }[] };
    expect(report.entries.map((entry) => entry.data)).toEqual([{ n: 'email-at' }, { n: 'email-after' }]);
    const tail = await run('tail', 'Email', '--since', `${t}-0`, '--count', '2');
    expect(tail.code).toBe(0);
    const lines = tail.stdout.trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { data: unknown }).data)).toEqual([
      { n: 'email-at' },
      { n: 'email-after' },
    ]);
    const reset = await run('group', 'reset', 'Email', 'G', '--to', new Date(t).toISOString());
    expect(reset.stderr).toBe('');
    expect(JSON.parse(reset.stdout)).toMatchObject({ stream: 'Email', group: 'G', toRead: 2, pending: 0 });
  });
});
