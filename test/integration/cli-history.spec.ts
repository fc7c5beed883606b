import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { RedisStreamsClient } from 'nestjs-redis-streams';
import { buildCli, type CliResult, runCli } from '../support/cli-process.js';
import { randomName, RedisServer, waitFor } from '../support/redis-server.js';

/** The CLI's history, tail and group reset commands, and status's retention warnings, as a real process. */
describe('nestjs-redis-streams CLI: history, tail, group reset, retention', () => {
  let redis: RedisServer;
  let admin: Redis;
  let prefix: string;
  let cli: { main: string; dir: string };

  const run = (...args: string[]) => runCli(cli.main, ['--url', redis.url, '--prefix', prefix, ...args]);
  const key = (stream: string) => prefix + stream;
  const rows = (stdout: string) =>
    stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.trim().split(/\s+/));

  beforeAll(async () => {
    cli = buildCli();
    redis = await RedisServer.start();
    admin = redis.client();
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
    rmSync(cli.dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    prefix = `${randomName()}:`;
  });

  /** Five entries: 1000-0 … 1000-2 in one millisecond, then 1001-0, then one plain-field entry at 1002-0. */
  async function addEntries(): Promise<void> {
    for (let i = 0; i < 3; i++) await admin.xadd(key('Email'), `1000-${i}`, 'data', JSON.stringify({ n: i }));
    await admin.xadd(key('Email'), '1001-0', 'data', JSON.stringify({ n: 3 }), 'headers', '{"trace":"t1"}');
    await admin.xadd(key('Email'), '1002-0', 'subject', 'hi');
  }

  describe('history', () => {
    it('prints a time range as a table, and says when there is more', async () => {
      await addEntries();
      const all = await run('history', 'Email');
      expect(all.stderr).toBe('');
      expect(all.code).toBe(0);
      expect(rows(all.stdout)[0]).toEqual(['ID', 'TIME', 'DATA']);
      expect(rows(all.stdout)).toContainEqual([
        '1001-0',
        '1970-01-01T00:00:01.001Z',
        '{"n":3}',
        'headers={"trace":"t1"}',
      ]);
      expect(rows(all.stdout)).toContainEqual(['1002-0', '1970-01-01T00:00:01.002Z', '{"subject":"hi"}']);

      const millisecond = await run(
        'history',
        'Email',
        '--since',
        '1970-01-01T00:00:01Z',
        '--until',
        '1970-01-01T00:00:01Z',
      );
      expect(
        rows(millisecond.stdout)
          .slice(1)
          .map((row) => row[0]),
      ).toEqual(['1000-0', '1000-1', '1000-2']);

      const page = await run('history', 'Email', '--reverse', '--count', '2');
      expect(
        rows(page.stdout)
          .slice(1, 3)
          .map((row) => row[0]),
      ).toEqual(['1002-0', '1001-0']);
      expect(page.stdout).toContain(
        '2 entries shown; there are more: raise --count, or page on with --until "(1001-0"',
      );
      const next = await run('history', 'Email', '--reverse', '--count', '2', '--until', '(1001-0');
      expect(
        rows(next.stdout)
          .slice(1, 3)
          .map((row) => row[0]),
      ).toEqual(['1000-2', '1000-1']);
    });

    it('prints JSON with decoded entries, and reads a duration ago', async () => {
      await addEntries();
      const recent = await admin.xadd(key('Email'), '*', 'data', JSON.stringify({ n: 'now' }));
      const { code, stdout } = await run('history', 'Email', '--since', '10m', '--json');
      expect(code).toBe(0);
      const report = JSON.parse(stdout) as {
        entries: { id: string; data: unknown; headers: unknown }[];
        more: boolean;
      };
      expect(report).toMatchObject({ stream: 'Email', key: key('Email'), reverse: false, more: false });
      expect(report.entries).toEqual([
        { id: recent, timestamp: expect.any(String) as string, data: { n: 'now' }, headers: {} },
      ]);
    });

    it('fails on a missing stream or an unreadable bound', async () => {
      const missing = await run('history', 'Emial');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('Stream "Emial" does not exist');
      const bad = await run('history', 'Email', '--since', 'yesterday');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--since takes a duration ago (10m, 2h, 7d), an ISO time');
    });
  });

  describe('tail', () => {
    /** Starts `tail`, waits until it follows, then runs `add`; resolves when it exits. */
    async function tail(args: string[], add: () => Promise<void>): Promise<CliResult> {
      const child = spawn(process.execPath, [cli.main, '--url', redis.url, '--prefix', prefix, 'tail', ...args], {
        env: { PATH: process.env.PATH ?? '' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
      try {
        await waitFor(() => stderr.includes('Following'), 'tail follows the stream');
        await add();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<number>((r) => (timer = setTimeout(() => r(-2), 15_000)));
        const code = await Promise.race([exited, timedOut]);
        clearTimeout(timer);
        return { code, stdout, stderr };
      } finally {
        child.kill('SIGKILL');
      }
    }

    it('prints new entries as they are added, and stops after --count', async () => {
      await addEntries(); // already there: not printed
      const client = new RedisStreamsClient({ connection: redis.url, keyPrefix: prefix });
      const result = await tail(['Email', '--count', '2'], async () => {
        await client.dispatch('Email', { n: 'first' });
        await client.dispatch('Email', { n: 'second' });
      });
      await client.close();
      expect(result.code).toBe(0);
      const lines = result.stdout.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^\d+-0 {2}\d{4}-\d\d-\d\dT.*Z {2}\{"n":"first"\}$/);
      expect(lines[1]).toContain('{"n":"second"}');
    });

    it('prints JSON lines, from --since when given', async () => {
      await addEntries();
      const result = await tail(['Email', '--since', '1001-0', '--count', '3', '--json'], async () => {
        await admin.xadd(key('Email'), '*', 'data', '"later"');
      });
      expect(result.code).toBe(0);
      const lines = result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { id: string; data: unknown });
      expect(lines.map((line) => line.data)).toEqual([{ n: 3 }, { subject: 'hi' }, 'later']);
      expect(lines[0].id).toBe('1001-0');
    });

    it('ends at Ctrl-C', async () => {
      const child = spawn(process.execPath, [cli.main, '--url', redis.url, '--prefix', prefix, 'tail', 'Quiet']);
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      await waitFor(() => stderr.includes('Following'), 'tail follows the stream');
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    });
  });

  describe('group reset', () => {
    beforeEach(async () => {
      await addEntries();
      await admin.xgroup('CREATE', key('Email'), 'reports', '$');
    });

    it('moves a group back by time as a table, with its new lag in status', async () => {
      const { code, stdout, stderr } = await run(
        'group',
        'reset',
        'Email',
        'reports',
        '--to',
        '1970-01-01T00:00:01.001Z',
      );
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(rows(stdout)[0]).toEqual(['STREAM', 'GROUP', 'FROM', 'TO', 'TO', 'READ', 'PENDING']);
      expect(rows(stdout)[1]).toEqual(['Email', 'reports', '1002-0', '1000-18446744073709551615', '2', '0']);
      const status = JSON.parse((await run('status', '--json')).stdout) as { streams: { groups: { lag: number }[] }[] };
      expect(status.streams[0].groups[0].lag).toBe(2);
    });

    it('prints JSON, and moves to 0 and $', async () => {
      const start = JSON.parse(
        (await run('group', 'reset', 'Email', 'reports', '--to', '0', '--json')).stdout,
      ) as object;
      expect(start).toEqual({
        stream: 'Email',
        group: 'reports',
        previousId: '1002-0',
        id: '0-0',
        toRead: 5,
        pending: 0,
      });
      const end = JSON.parse((await run('group', 'reset', 'Email', 'reports', '--to', '$', '--json')).stdout) as object;
      expect(end).toMatchObject({ id: '1002-0', toRead: 0 });
    });

    it('refuses while entries are pending, naming the consumers, and moves with --force', async () => {
      await admin.xgroup('SETID', key('Email'), 'reports', '0');
      await admin.xreadgroup('GROUP', 'reports', 'worker-7', 'COUNT', 2, 'STREAMS', key('Email'), '>');
      const refused = await run('group', 'reset', 'Email', 'reports', '--to', '0');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('has 2 pending entries (worker-7: 2)');
      const forced = await run('group', 'reset', 'Email', 'reports', '--to', '0', '--force');
      expect(forced.code).toBe(0);
      expect(forced.stdout).toContain('2 entries stay pending with their consumers');
    });

    it('explains a wrong command line', async () => {
      const noTo = await run('group', 'reset', 'Email', 'reports');
      expect(noTo.code).toBe(2);
      expect(noTo.stderr).toContain('`group reset` needs --to');
      const noGroup = await run('group', 'reset', 'Email', 'report', '--to', '0');
      expect(noGroup.code).toBe(1);
      expect(noGroup.stderr).toContain('Consumer group "report" does not exist');
    });
  });

  describe('partitioned streams', () => {
    /** Two partitions, as a producer records them: p0 1000-0 1001-0, p1 1000-0 1002-0; group G at each end. */
    beforeEach(async () => {
      await admin.set(key('Orders:partitions'), '2');
      const ids = [
        ['1000-0', '1001-0'],
        ['1000-0', '1002-0'],
      ];
      for (const [p, list] of ids.entries()) {
        for (const id of list) await admin.xadd(key(`Orders:p${p}`), id, 'data', JSON.stringify({ p, id }));
        await admin.xgroup('CREATE', key(`Orders:p${p}`), 'G', '$');
      }
    });

    it('reads one history with each entry’s partition, and never ends a page among equal ids', async () => {
      const page = await run('history', 'Orders', '--count', '1');
      expect(page.stderr).toBe('');
      expect(rows(page.stdout).slice(0, 3)).toEqual([
        ['ID', 'PARTITION', 'TIME', 'DATA'],
        ['1000-0', '0', '1970-01-01T00:00:01.000Z', '{"p":0,"id":"1000-0"}'],
        ['1000-0', '1', '1970-01-01T00:00:01.000Z', '{"p":1,"id":"1000-0"}'],
      ]);
      expect(page.stdout).toContain(
        '2 entries shown; there are more: raise --count, or page on with --since "(1000-0"',
      );
      const next = JSON.parse((await run('history', 'Orders', '--since', '(1000-0', '--json')).stdout) as {
        partitions: number;
        entries: { id: string; partition: number }[];
        more: boolean;
      };
      expect(next).toMatchObject({ partitions: 2, more: false });
      expect(next.entries.map(({ id, partition }) => `${id}@${partition}`)).toEqual(['1001-0@0', '1002-0@1']);
    });

    it('resets the group on every partition, a row each', async () => {
      const { code, stdout, stderr } = await run('group', 'reset', 'Orders', 'G', '--to', '1970-01-01T00:00:01.001Z');
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(rows(stdout).slice(0, 3)).toEqual([
        ['STREAM', 'PARTITION', 'GROUP', 'FROM', 'TO', 'TO', 'READ', 'PENDING'],
        ['Orders', '0', 'G', '1001-0', '1000-18446744073709551615', '1', '0'],
        ['Orders', '1', 'G', '1002-0', '1000-18446744073709551615', '1', '0'],
      ]);
      expect(stdout).toContain('now reads each of the 2 partitions after its TO id: 2 entries in them now.');
    });

    it('refuses to tail the partitioned stream, naming a partition to follow instead', async () => {
      const refused = await run('tail', 'Orders');
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('Stream "Orders" is partitioned (2 partitions): `tail` follows one stream.');
      expect(refused.stderr).toContain('`tail Orders:p0` … `tail Orders:p1`');
    });
  });

  describe('retention by age', () => {
    it('trims by age at each emit, and status warns before and after a group loses entries to it', async () => {
      const now = Date.now();
      const old = now - 3_600_000;
      // 500 entries an hour old, then 10 of 50 minutes ago; a group that has read none of them.
      const pipeline = admin.pipeline();
      for (let i = 0; i < 500; i++) pipeline.xadd(key('Email'), `${old}-${i}`, 'data', `{"i":${i}}`);
      for (let i = 0; i < 10; i++) pipeline.xadd(key('Email'), `${now - 3_000_000}-${i}`, 'data', '{}');
      await pipeline.exec();
      await admin.xgroup('CREATE', key('Email'), 'slow', '0');
      await admin.xgroup('CREATE', key('Email'), 'idle', '0');
      // `slow` has handled the first 5; `idle` nothing.
      const read = (await admin.xreadgroup('GROUP', 'slow', 's1', 'COUNT', 5, 'STREAMS', key('Email'), '>')) as [
        string,
        [string][],
      ][];
      await admin.xack(key('Email'), 'slow', ...read[0][1].map(([id]) => id));

      const warned = await run('status', '--max-age', '55m');
      expect(warned.code).toBe(0);
      expect(warned.stdout).toMatch(
        new RegExp(
          `WARNING: group slow of Email has not finished entry ${old}-5 \\(1h00m old\\); trimming by age \\(55m00s\\) drops it at the next emit\\.`,
        ),
      );
      expect((await run('status', '--max-age', '7d')).stdout).not.toContain('WARNING');

      const client = new RedisStreamsClient({ connection: redis.url, keyPrefix: prefix, maxAge: 55 * 60_000 });
      const id = await client.dispatch('Email', { n: 'new' });
      await client.close();
      const left = await admin.xrange(key('Email'), '-', '+');
      // MINID ~ drops whole radix-tree nodes (100 entries each by default): most of the old ones, none of the new.
      expect(left.length).toBeLessThanOrEqual(111);
      expect(left.length).toBeGreaterThanOrEqual(11);
      expect(left[left.length - 1][0]).toBe(id);
      expect(left.filter(([entryId]) => entryId.startsWith(`${now - 3_000_000}-`))).toHaveLength(10);

      const json = JSON.parse((await run('status', '--json')).stdout) as { missed: unknown[] };
      const removed = 511 - left.length;
      expect(json.missed).toEqual([
        { stream: 'Email', group: 'idle', count: removed },
        { stream: 'Email', group: 'slow', count: removed - 5 },
      ]);
      expect((await run('status')).stdout).toContain(
        `WARNING: group slow of Email never read ${removed - 5} entries that were trimmed or deleted.`,
      );
    });
  });
});
