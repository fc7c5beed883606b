import type { Cluster } from 'ioredis';
import { RedisStreamsClient, StreamHistory } from 'nestjs-redis-streams';
import { partitionKey } from '../../../libs/redis-streams/src/partitions/partition-keys.js';
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

  beforeAll(async () => {
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
});
