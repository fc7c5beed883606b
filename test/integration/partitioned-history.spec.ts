import type { Redis } from 'ioredis';
import {
  GroupHasPendingError,
  type HistoryEntry,
  PartitionCountMismatchError,
  RedisStreamsClient,
  RedisStreamsRecord,
  StreamHistory,
} from 'nestjs-redis-streams';
import { partitionOf } from '../../libs/redis-streams/src/partitions/partition-keys.js';
import { compareIds } from '../../libs/redis-streams/src/redis/stream-commands.js';
import { groupHandler, pendingCount, sleep } from '../support/handlers.js';
import { waitFor } from '../support/redis-server.js';
import { useStreamFixture } from '../support/stream-fixture.js';

/** XINFO GROUPS of `key`: the group's record, or undefined. */
async function groupInfo(redis: Redis, key: string, group: string): Promise<Record<string, unknown> | undefined> {
  for (const row of (await redis.call('XINFO', 'GROUPS', key)) as unknown[][]) {
    const info = Object.fromEntries(Array.from({ length: row.length / 2 }, (_, i) => [row[2 * i], row[2 * i + 1]]));
    if (info.name === group) return info as Record<string, unknown>;
  }
  return undefined;
}

const json = (data: unknown): string[] => ['data', JSON.stringify(data)];
/** An entry as `id@partition`, to compare orders at a glance. */
const at = (entry: HistoryEntry): string => `${entry.id}@${entry.partition}`;

describe('history and group reset of partitioned streams', () => {
  const fx = useStreamFixture({ group: 'G', claimInterval: 0 });
  const clients: RedisStreamsClient[] = [];
  let history: StreamHistory;
  beforeEach(() => {
    history = new StreamHistory(fx.admin, { keyPrefix: fx.prefix });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  const partition = (p: number): string => fx.key(`Orders:p${p}`);
  const producer = (partitions: Record<string, number>): RedisStreamsClient => {
    const client = new RedisStreamsClient({ connection: fx.redis.url, keyPrefix: fx.prefix, partitions });
    clients.push(client);
    return client;
  };

  /** Emits `count` entries keyed `c0` … `c7` through a client with 4 partitions, one after the other. */
  async function emitKeyed(count: number, from = 0): Promise<void> {
    const client = producer({ Orders: 4 });
    for (let n = from; n < from + count; n++) {
      const key = `c${n % 8}`;
      await client.dispatch('Orders', new RedisStreamsRecord({ key, n }, {}, { key }));
    }
  }

  /**
   * Fixed ids, with the count recorded as a producer would: p0 1000-0 1002-0, p1 1001-0 1003-0, p2 1000-0 1004-0,
   * p3 999-0. p0 and p2 both hold 1000-0.
   */
  async function addFixedEntries(): Promise<void> {
    await fx.admin.set(fx.key('Orders:partitions'), '4');
    const ids = [['1000-0', '1002-0'], ['1001-0', '1003-0'], ['1000-0', '1004-0'], ['999-0']];
    for (const [p, list] of ids.entries()) {
      for (const id of list) await fx.admin.xadd(partition(p), id, ...json({ p, id }));
    }
  }

  describe('reading', () => {
    it('reads entries emitted with keys to 4 partitions back as one history in id order, each with its partition', async () => {
      await emitKeyed(40);
      const expected: string[] = [];
      for (let p = 0; p < 4; p++) {
        for (const [id] of await fx.admin.xrange(partition(p), '-', '+')) expected.push(`${id}@${p}`);
      }
      // Id order; two partitions can hold the same id (each stream numbers its own): those in partition order.
      expected.sort((a, b) => compareIds(a.split('@')[0], b.split('@')[0]) || a.localeCompare(b));
      const entries = await history.list('Orders');
      expect(entries.map(at)).toEqual(expected);
      expect(new Set(entries.map((entry) => entry.partition))).toEqual(new Set([0, 1, 2, 3]));
      const byKey = new Map<string, number[]>();
      for (const entry of entries) {
        const { key, n } = entry.data as { key: string; n: number };
        expect(entry).toMatchObject({ stream: 'Orders', partition: partitionOf(key, 4) });
        byKey.set(key, [...(byKey.get(key) ?? []), n]);
      }
      for (const ns of byKey.values()) expect(ns).toEqual([...ns].sort((a, b) => a - b));

      const reversed = await history.list('Orders', { reverse: true, pageSize: 3 });
      expect(reversed.map(at)).toEqual([...expected].reverse());
      const configured = new StreamHistory(fx.admin, { keyPrefix: fx.prefix, partitions: { Orders: 4 } });
      expect((await configured.list('Orders', { pageSize: 2 })).map(at)).toEqual(expected);
    });

    it('applies a time or an id to every partition, equal ids in partition order and mirrored in reverse', async () => {
      await addFixedEntries();
      const all = ['999-0@3', '1000-0@0', '1000-0@2', '1001-0@1', '1002-0@0', '1003-0@1', '1004-0@2'];
      expect((await history.list('Orders')).map(at)).toEqual(all);
      expect((await history.list('Orders', { reverse: true })).map(at)).toEqual([...all].reverse());
      expect((await history.list('Orders', { since: new Date(1001), until: '1003' })).map(at)).toEqual([
        '1001-0@1',
        '1002-0@0',
        '1003-0@1',
      ]);
      expect((await history.list('Orders', { since: '(1000-0' })).map(at)).toEqual(all.slice(3));
      expect((await history.list('Orders', { until: new Date(1000), reverse: true })).map(at)).toEqual([
        '1000-0@2',
        '1000-0@0',
        '999-0@3',
      ]);
      expect((await history.list('Orders', { limit: 3, pageSize: 1 })).map(at)).toEqual(all.slice(0, 3));
      const [first] = await history.list('Orders', { limit: 1 });
      expect(first).toMatchObject({ stream: 'Orders', partition: 3, data: { p: 3, id: '999-0' } });
      expect(await history.keysOf('Orders')).toEqual([0, 1, 2, 3].map((p) => ({ key: partition(p), partition: p })));
      expect(await history.keysOf('Email')).toEqual([{ key: fx.key('Email') }]);
    });

    it('refuses a partition count other than the recorded one, saying what to set', async () => {
      await emitKeyed(4);
      const wrong = new StreamHistory(fx.admin, { keyPrefix: fx.prefix, partitions: { Orders: 3 } });
      const failure = await wrong.list('Orders').catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(PartitionCountMismatchError);
      expect(String(failure)).toMatch(
        /configured with 3 partitions, but Redis records 4.*`partitions: \{ 'Orders': 4 \}` on StreamHistory, or leave `partitions` out/,
      );
      await expect(wrong.resetGroup('Orders', 'G', '0')).rejects.toBeInstanceOf(PartitionCountMismatchError);
      expect(() => new StreamHistory(fx.admin, { partitions: { Orders: 0 } })).toThrow(/`partitions`/);
    });
  });

  describe('moving a group', () => {
    /** Five entries on each of 4 partitions at ms 1000 + 10 i + p, and group G at the end of each. */
    async function entriesAndGroup(): Promise<void> {
      await fx.admin.set(fx.key('Orders:partitions'), '4');
      for (let p = 0; p < 4; p++) {
        for (let i = 0; i < 5; i++) await fx.admin.xadd(partition(p), `${1000 + 10 * i + p}-0`, ...json({ p, i }));
        await fx.admin.xgroup('CREATE', partition(p), 'G', '$');
      }
    }
    const lastDelivered = async (p: number) => (await groupInfo(fx.admin, partition(p), 'G'))?.['last-delivered-id'];

    it('moves the group by time on every partition, keeping each partition’s lag right', async () => {
      await entriesAndGroup();
      const back = await history.resetGroup('Orders', 'G', new Date(1020));
      const before = '1019-18446744073709551615';
      expect(back).toMatchObject({ stream: 'Orders', group: 'G', previousId: '1043-0', id: before, toRead: 12 });
      expect(back.partitions).toEqual(
        [0, 1, 2, 3].map((p) => ({
          partition: p,
          key: partition(p),
          previousId: `${1040 + p}-0`,
          id: before,
          toRead: 3,
          pending: 0,
        })),
      );
      for (let p = 0; p < 4; p++) expect((await groupInfo(fx.admin, partition(p), 'G'))?.lag).toBe(3);
      const read = (await fx.admin.xreadgroup('GROUP', 'G', 'w', 'COUNT', 1, 'STREAMS', partition(2), '>')) as [
        string,
        [string][],
      ][];
      expect(read[0][1][0][0]).toBe('1022-0');
      await fx.admin.xack(partition(2), 'G', '1022-0');

      const end = await history.resetGroup('Orders', 'G', '$');
      expect(end).toMatchObject({ id: '1043-0', toRead: 0 });
      expect(end.partitions?.map((move) => move.id)).toEqual(['1040-0', '1041-0', '1042-0', '1043-0']);
      // An id applies to every partition too: the entries after it.
      expect((await history.resetGroup('Orders', 'G', '1021-0')).partitions?.map((move) => move.toRead)).toEqual([
        2, 2, 3, 3,
      ]);
    });

    it('refuses while any partition holds pending entries, moving none; force moves every partition', async () => {
      await entriesAndGroup();
      await history.resetGroup('Orders', 'G', '0');
      await fx.admin.xreadgroup('GROUP', 'G', 'w1', 'COUNT', 2, 'STREAMS', partition(1), '>');
      await fx.admin.xreadgroup('GROUP', 'G', 'w1', 'COUNT', 1, 'STREAMS', partition(3), '>');
      await fx.admin.xreadgroup('GROUP', 'G', 'w2', 'COUNT', 1, 'STREAMS', partition(3), '>');
      const refused = await history.resetGroup('Orders', 'G', '$').catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(GroupHasPendingError);
      expect(String(refused)).toMatch(/"G" of stream "Orders" has 4 pending entries \(w1: 3, w2: 1\).*force/);
      expect(await Promise.all([0, 1, 2, 3].map(lastDelivered))).toEqual(['0-0', '1011-0', '0-0', '1013-0']);

      const forced = await history.resetGroup('Orders', 'G', '$', { force: true });
      expect(forced).toMatchObject({ pending: 4, toRead: 0 });
      expect(forced.partitions?.map((move) => move.pending)).toEqual([0, 2, 0, 2]);
      expect(await Promise.all([0, 1, 2, 3].map(lastDelivered))).toEqual(['1040-0', '1041-0', '1042-0', '1043-0']);
      expect(await pendingCount(fx.admin, partition(1), 'G')).toBe(2);
    });

    it('creates the group at the same position on partitions it is not on yet, and names a group on none', async () => {
      await entriesAndGroup();
      await fx.admin.xgroup('DESTROY', partition(1), 'G');
      await fx.admin.xgroup('DESTROY', partition(3), 'G');
      const moved = await history.resetGroup('Orders', 'G', new Date(1020));
      expect(moved.partitions?.map((move) => [move.previousId, move.toRead])).toEqual([
        ['1040-0', 3],
        [null, 3],
        ['1042-0', 3],
        [null, 3],
      ]);
      for (let p = 0; p < 4; p++) expect(await groupInfo(fx.admin, partition(p), 'G')).toMatchObject({ lag: 3 });
      await expect(history.resetGroup('Orders', 'Other', '0')).rejects.toThrow(
        /group "Other" does not exist on stream "Orders" \(Redis key ".*Orders:p0, .*Orders:p3"\)/,
      );
      await expect(history.resetGroup('Missing', 'G', '0')).rejects.toThrow(/Stream "Missing" does not exist/);
    });

    it('moves a live group back: each partition is read again from the time, in order, and drained', async () => {
      const seen = new Map<number, number[]>();
      await fx.start(
        [
          groupHandler('Orders', (data, ctx) => {
            const partition = ctx.getPartition()!;
            seen.set(partition, [...(seen.get(partition) ?? []), (data as { n: number }).n]);
          }),
        ],
        { partitions: { Orders: 4 } },
      );
      const handled = () => [...seen.values()].reduce((sum, ns) => sum + ns.length, 0);
      await emitKeyed(16);
      await waitFor(() => handled() === 16, 'the first 16 entries handled');
      // The next entries get ids of a later millisecond than every entry so far (Redis and this process share a clock).
      const t = Date.now() + 2;
      while (Date.now() < t) await sleep(1);
      await emitKeyed(16, 16);
      await waitFor(() => handled() === 32, 'all 32 entries handled');

      const moved = await history.resetGroup('Orders', 'G', new Date(t));
      expect(moved).toMatchObject({ toRead: 16, pending: 0 });
      await waitFor(() => handled() === 48, 'the 16 entries since the time handled again');
      // Each partition in stream order (one key's entries in emit order), then again from the time on.
      for (const ns of seen.values()) {
        const once = [...new Set(ns)].sort((a, b) => a - b);
        expect(ns).toEqual([...once, ...once.filter((n) => n >= 16)]);
      }
      for (let p = 0; p < 4; p++) {
        await waitFor(async () => (await groupInfo(fx.admin, partition(p), 'G'))?.lag === 0, `p${p} read to the end`);
        await waitFor(async () => (await pendingCount(fx.admin, partition(p), 'G')) === 0, `p${p} drained`);
      }
    });
  });
});
