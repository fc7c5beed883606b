import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import type { Redis } from 'ioredis';
import { GroupHasPendingError, type HistoryEntry, StreamHistory } from 'nestjs-redis-streams';
import { broadcastHandler, groupHandler } from '../support/handlers.js';
import { waitFor } from '../support/redis-server.js';
import { useStreamFixture } from '../support/stream-fixture.js';

/** XINFO GROUPS of `key` as records by group name. */
async function groupInfo(redis: Redis, key: string, group: string): Promise<Record<string, unknown>> {
  const rows = (await redis.call('XINFO', 'GROUPS', key)) as unknown[][];
  for (const row of rows) {
    const info: Record<string, unknown> = {};
    for (let i = 0; i < row.length; i += 2) info[String(row[i])] = row[i + 1];
    if (info.name === group) return info;
  }
  throw new Error(`no group ${group} on ${key}`);
}

const json = (data: unknown, headers?: Record<string, string>): string[] =>
  headers ? ['data', JSON.stringify(data), 'headers', JSON.stringify(headers)] : ['data', JSON.stringify(data)];

describe('history and replay', () => {
  const fx = useStreamFixture({ block: 200 });
  let history: StreamHistory;
  beforeEach(() => {
    history = new StreamHistory(fx.admin, { keyPrefix: fx.prefix });
  });

  const ids = (entries: HistoryEntry[]) => entries.map((e) => e.id);

  /** Entries at fixed ids: three in the millisecond 1000, then 1001 and 1002. */
  async function addFixedEntries(): Promise<void> {
    const key = fx.key('Email');
    await fx.admin.xadd(key, '1000-0', ...json({ n: 0 }, { trace: 'a' }));
    await fx.admin.xadd(key, '1000-1', ...json({ n: 1 }));
    await fx.admin.xadd(key, '1000-2', 'subject', 'plain', 'body', 'pairs');
    await fx.admin.xadd(key, '1001-0', ...json({ n: 3 }));
    await fx.admin.xadd(key, '1002-5', 'data', '{not json');
  }

  describe('reading the past', () => {
    it('reads by time at millisecond edges: a time covers its whole millisecond, both bounds inclusive', async () => {
      await addFixedEntries();
      expect(ids(await history.list('Email', { since: new Date(1000), until: new Date(1000) }))).toEqual([
        '1000-0',
        '1000-1',
        '1000-2',
      ]);
      expect(ids(await history.list('Email', { since: new Date(1001) }))).toEqual(['1001-0', '1002-5']);
      expect(ids(await history.list('Email', { until: '1970-01-01T00:00:01.001Z' }))).toEqual([
        '1000-0',
        '1000-1',
        '1000-2',
        '1001-0',
      ]);
      expect(ids(await history.list('Email', { since: '-', until: '+' }))).toHaveLength(5);
      expect(ids(await history.list('Email', { since: '1000-1', until: '1001-0' }))).toEqual([
        '1000-1',
        '1000-2',
        '1001-0',
      ]);
      expect(ids(await history.list('Email', { since: '1000', until: '1000' }))).toHaveLength(3);
      expect(await history.list('Email', { since: new Date(1003) })).toEqual([]);
      expect(await history.list('Missing')).toEqual([]);
    });

    it('decodes entries as handlers see them: JSON data with headers, plain pairs, and says why one is undecodable', async () => {
      await addFixedEntries();
      const [first, second, plain, , broken] = await history.list('Email');
      expect(first).toMatchObject({ stream: 'Email', id: '1000-0', data: { n: 0 }, headers: { trace: 'a' } });
      expect(first.timestamp).toEqual(new Date(1000));
      expect(second).toMatchObject({ data: { n: 1 }, headers: {} });
      expect(plain.data).toEqual({ subject: 'plain', body: 'pairs' });
      expect(broken.data).toBeUndefined();
      expect(broken.error).toMatch(/not valid JSON/);
      expect(broken.fields).toEqual(['data', '{not json']);
    });

    it('reads newest first with reverse, and stops at limit', async () => {
      await addFixedEntries();
      expect(ids(await history.list('Email', { reverse: true }))).toEqual([
        '1002-5',
        '1001-0',
        '1000-2',
        '1000-1',
        '1000-0',
      ]);
      expect(ids(await history.list('Email', { reverse: true, limit: 2, pageSize: 1 }))).toEqual(['1002-5', '1001-0']);
      expect(ids(await history.list('Email', { until: new Date(1000), reverse: true, pageSize: 2 }))).toEqual([
        '1000-2',
        '1000-1',
        '1000-0',
      ]);
    });

    it('reads streams under the key prefix by the name handlers use', async () => {
      await fx.client.dispatch('Email', { n: 1 });
      expect((await history.list('Email')).map((e) => e.data)).toEqual([{ n: 1 }]);
      expect(await new StreamHistory(fx.admin).list('Email')).toEqual([]);
    });

    it('pages across thousands of entries in order, one page in memory at a time', async () => {
      const total = 20_000;
      const body = 'x'.repeat(1000);
      for (let start = 0; start < total; start += 1000) {
        const pipeline = fx.admin.pipeline();
        for (let i = start; i < start + 1000; i++) pipeline.xadd(fx.key('Big'), '*', ...json({ i, body }));
        await pipeline.exec();
      }
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const heapAt = (): number => {
        gc();
        return process.memoryUsage().heapUsed;
      };
      for (const reverse of [false, true]) {
        let seen = 0;
        let early = 0;
        let late = 0;
        for await (const entry of history.read('Big', { pageSize: 200, reverse })) {
          const n = (entry.data as { i: number }).i;
          expect(n).toBe(reverse ? total - 1 - seen : seen);
          seen++;
          if (seen === 1000) early = heapAt();
          if (seen === total - 1000) late = heapAt();
        }
        expect(seen).toBe(total);
        // Keeping the 18 000 entries read in between would take over 18 MB (1 kB bodies); one page is 200 kB.
        expect(late - early).toBeLessThan(6 * 1024 * 1024);
      }
    });
  });

  describe('starting at a point in time', () => {
    /** Entries 10 s ago: one at t, two in t+1 ms, one at t+2 ms. Returns t. */
    async function addPastEntries(stream: string): Promise<number> {
      const t = Date.now() - 10_000;
      await fx.admin.xadd(fx.key(stream), `${t}-0`, ...json({ n: 'before' }));
      await fx.admin.xadd(fx.key(stream), `${t + 1}-0`, ...json({ n: 'at-0' }));
      await fx.admin.xadd(fx.key(stream), `${t + 1}-1`, ...json({ n: 'at-1' }));
      await fx.admin.xadd(fx.key(stream), `${t + 2}-0`, ...json({ n: 'after' }));
      return t;
    }
    const n = (data: unknown) => (data as { n: string }).n;

    it('starts a broadcast at the first entry at or after a Date', async () => {
      const t = await addPastEntries('News');
      const seen: string[] = [];
      await fx.start([broadcastHandler('News', (data) => void seen.push(n(data)))], {
        broadcastStartId: new Date(t + 1),
      });
      await fx.client.dispatch('News', { n: 'live' });
      await waitFor(() => seen.length === 4, 'the broadcast saw three past entries and the live one');
      expect(seen).toEqual(['at-0', 'at-1', 'after', 'live']);
    });

    it('creates a new group at an ISO time, with a lag Redis can tell at once', async () => {
      const t = await addPastEntries('Email');
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const seen: string[] = [];
      await fx.start(
        [
          groupHandler('Email', async (data) => {
            seen.push(n(data));
            await gate;
          }),
        ],
        { group: 'Late', startId: new Date(t + 1).toISOString(), concurrency: 1, count: 1 },
      );
      try {
        await waitFor(() => seen.length === 1, 'the first entry at the time is being handled');
        expect(seen).toEqual(['at-0']);
        // Without ENTRIESREAD, Redis can't count a group created in the middle of a stream: lag would be null.
        const info = await groupInfo(fx.admin, fx.key('Email'), 'Late');
        const after = await fx.admin.xrange(fx.key('Email'), `(${String(info['last-delivered-id'])}`, '+');
        expect(info.lag).toBe(after.length);
      } finally {
        release();
      }
      await waitFor(() => seen.length === 3, 'the group read on');
      expect(seen).toEqual(['at-0', 'at-1', 'after']);
    });

    it('starts a group whose time is in the future at the end, skipping nothing added meanwhile', async () => {
      await addPastEntries('Email');
      const seen: string[] = [];
      await fx.start([groupHandler('Email', (data) => void seen.push(n(data)))], {
        group: 'Future',
        startId: new Date(Date.now() + 3_600_000),
      });
      await fx.client.dispatch('Email', { n: 'now' });
      await waitFor(() => seen.length === 1, 'the entry added now');
      expect(seen).toEqual(['now']);
    });

    it('leaves an existing group where it is', async () => {
      const t = await addPastEntries('Email');
      await fx.admin.xgroup('CREATE', fx.key('Email'), 'Existing', '$');
      const seen: string[] = [];
      await fx.start([groupHandler('Email', (data) => void seen.push(n(data)))], {
        group: 'Existing',
        startId: new Date(t),
      });
      await fx.client.dispatch('Email', { n: 'new' });
      await waitFor(() => seen.length === 1, 'the new entry');
      expect(seen).toEqual(['new']);
    });

    it('refuses an invalid time with an error naming the option', async () => {
      await expect(
        fx.start([groupHandler('Email', () => undefined)], { group: 'G', startId: 'yesterday' }),
      ).rejects.toThrow(/`startId`.*ISO/);
    });
  });

  describe('moving a group', () => {
    const key = () => fx.key('Email');

    /** Ten entries at ids 1000-0 … 1009-0 and a group at the end. */
    async function tenEntriesAndGroup(): Promise<void> {
      for (let i = 0; i < 10; i++) await fx.admin.xadd(key(), `${1000 + i}-0`, ...json({ i }));
      await fx.admin.xgroup('CREATE', key(), 'G', '$');
    }

    it('moves back and forward by time, id, 0 and $, keeping lag right in XINFO', async () => {
      await tenEntriesAndGroup();
      const lag = async () => (await groupInfo(fx.admin, key(), 'G')).lag;
      expect(await lag()).toBe(0);

      const back = await history.resetGroup('Email', 'G', new Date(1004));
      expect(back).toMatchObject({ previousId: '1009-0', id: '1003-18446744073709551615', toRead: 6, pending: 0 });
      expect(await lag()).toBe(6);
      const first = await fx.admin.xreadgroup('GROUP', 'G', 'c1', 'COUNT', 1, 'STREAMS', key(), '>');
      expect((first as [string, [string][]][])[0][1][0][0]).toBe('1004-0');
      expect(await lag()).toBe(5);
      await fx.admin.xack(key(), 'G', '1004-0');

      expect(await history.resetGroup('Email', 'G', '0')).toMatchObject({ id: '0-0', toRead: 10 });
      expect(await lag()).toBe(10);
      expect(await history.resetGroup('Email', 'G', '1007-0')).toMatchObject({ id: '1007-0', toRead: 2 });
      expect(await lag()).toBe(2);
      expect(await history.resetGroup('Email', 'G', '(1005-0')).toMatchObject({ id: '1005-0', toRead: 4 });
      expect(await history.resetGroup('Email', 'G', '+')).toMatchObject({ id: '1009-0', toRead: 0 });
      expect(await history.resetGroup('Email', 'G', '$')).toMatchObject({ id: '1009-0', toRead: 0 });
      expect(await lag()).toBe(0);
      expect(await history.resetGroup('Email', 'G', '2026-01-01T00:00:00Z')).toMatchObject({ id: '1009-0', toRead: 0 });

      // Entries added later count on top of where the group was put.
      await history.resetGroup('Email', 'G', new Date(1008));
      await fx.admin.xadd(key(), '*', ...json({ i: 10 }));
      expect(await lag()).toBe(3);
    });

    it('refuses while consumers hold pending entries, and says who holds them; force moves it anyway', async () => {
      await tenEntriesAndGroup();
      await history.resetGroup('Email', 'G', '0');
      await fx.admin.xreadgroup('GROUP', 'G', 'worker-1', 'COUNT', 3, 'STREAMS', key(), '>');
      const refused = history.resetGroup('Email', 'G', '0');
      await expect(refused).rejects.toThrow(GroupHasPendingError);
      await expect(history.resetGroup('Email', 'G', '0')).rejects.toThrow(/3 pending entries \(worker-1: 3\).*force/);
      expect((await groupInfo(fx.admin, key(), 'G'))['last-delivered-id']).toBe('1002-0');

      const forced = await history.resetGroup('Email', 'G', '$', { force: true });
      expect(forced).toMatchObject({ id: '1009-0', pending: 3, toRead: 0 });
      expect(((await fx.admin.xpending(key(), 'G')) as [number])[0]).toBe(3);
    });

    it('names the missing stream or group', async () => {
      await expect(history.resetGroup('Nope', 'G', '0')).rejects.toThrow(/Stream "Nope" does not exist/);
      await tenEntriesAndGroup();
      await expect(history.resetGroup('Email', 'Other', '0')).rejects.toThrow(/group "Other" does not exist/);
    });
  });
});
