import 'reflect-metadata';
import { rmSync } from 'node:fs';
import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { Redis } from 'ioredis';
import { RedisStreamsClient } from 'nestjs-redis-streams';
import { startService, type TestService } from '../support/nest-app.js';
import { buildCli, runCli } from '../support/cli-process.js';
import { freePort, randomName, RedisServer, waitFor } from '../support/redis-server.js';

/**
 * Compiles the CLI from source the way `npm run build:lib` does (ESM, NodeNext) into a private directory inside
 * node_modules (so it resolves ioredis like the published bin would), and runs it as a real process.
 */
describe('nestjs-redis-streams CLI', () => {
  let redis: RedisServer;
  let admin: Redis;
  let client: RedisStreamsClient;
  let services: TestService[] = [];
  let prefix: string;
  let cli: { main: string; dir: string };
  const failures = new Set<number>();

  @Controller()
  class EmailController {
    @EventPattern('Email')
    handle(@Payload() data: { n: number }) {
      if (failures.has(data.n)) throw new Error(`mailbox ${data.n} is full`);
    }
  }

  const run = (...args: string[]) => runCli(cli.main, ['--url', redis.url, '--prefix', prefix, ...args]);

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
  beforeEach(async () => {
    prefix = `${randomName()}:`;
    failures.clear();
    client = new RedisStreamsClient({ connection: redis.url, keyPrefix: prefix });
    await client.connect();
  });
  afterEach(async () => {
    await Promise.all(services.map((s) => s.close()));
    services = [];
    await client.close();
  });

  /** A running server whose handler fails (every time) for the entry numbers in `failures`. */
  async function startServer(): Promise<TestService> {
    const service = await startService([EmailController], {
      connection: redis.url,
      keyPrefix: prefix,
      group: 'mailer',
      consumer: 'worker-1',
      maxDeliveries: 1,
    });
    services.push(service);
    return service;
  }

  async function settled(): Promise<void> {
    await waitFor(
      async () => Number(((await admin.xpending(`${prefix}Email`, 'mailer')) as [number])[0]) === 0,
      'nothing pending',
    );
  }

  describe('status', () => {
    it('shows the streams under the prefix with their groups, consumers, pending and lag as tables', async () => {
      await startServer();
      await admin.xgroup('CREATE', `${prefix}Email`, 'reports', '$');
      for (let i = 0; i < 3; i++) await client.dispatch('Email', { n: i });
      await client.dispatch('Sms', { n: 0 });
      await admin.xadd(`other-app:Email`, '*', 'data', '{}'); // another prefix: not shown
      await settled();
      await admin.xreadgroup('GROUP', 'reports', 'report-1', 'COUNT', 1, 'STREAMS', `${prefix}Email`, '>');

      const { code, stdout, stderr } = await run('status');
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const lines = stdout.split('\n').map((line) => line.trim().split(/\s+/));
      expect(lines).toContainEqual(expect.arrayContaining(['Email', '3', '2', '0']));
      expect(lines).toContainEqual(expect.arrayContaining(['Sms', '1', '0', '0']));
      // STREAM GROUP CONSUMERS PENDING LAG
      expect(lines).toContainEqual(expect.arrayContaining(['Email', 'mailer', '1', '0', '0']));
      expect(lines).toContainEqual(expect.arrayContaining(['Email', 'reports', '1', '1', '2']));
      // STREAM GROUP CONSUMER PENDING
      expect(lines).toContainEqual(expect.arrayContaining(['Email', 'mailer', 'worker-1', '0']));
      expect(lines).toContainEqual(expect.arrayContaining(['Email', 'reports', 'report-1', '1']));
      expect(stdout).not.toContain('other-app');
    });

    it('prints JSON for scripts, limited to the named streams and group', async () => {
      await admin.xgroup('CREATE', `${prefix}Email`, 'reports', '0', 'MKSTREAM');
      await admin.xgroup('CREATE', `${prefix}Email`, 'audit', '0');
      await client.dispatch('Email', { n: 1 });
      await client.dispatch('Sms', { n: 1 });
      const { code, stdout } = await run('status', '--stream', 'Email', '--group', 'reports', '--json');
      expect(code).toBe(0);
      const report = JSON.parse(stdout) as {
        streams: {
          name: string;
          length: number;
          groups: { name: string; lag: number; pending: number; consumers: unknown[] }[];
        }[];
      };
      expect(report.streams).toHaveLength(1);
      expect(report.streams[0]).toMatchObject({
        name: 'Email',
        length: 1,
        groups: [{ name: 'reports', lag: 1, pending: 0, consumers: [] }],
      });
    });

    it('takes the URL from REDIS_URL', async () => {
      await client.dispatch('Email', { n: 1 });
      const { code, stdout } = await runCli(cli.main, ['status', '--prefix', prefix, '--json'], {
        REDIS_URL: redis.url,
      });
      expect(code).toBe(0);
      expect((JSON.parse(stdout) as { streams: { name: string }[] }).streams.map((s) => s.name)).toEqual(['Email']);
    });

    it('fails naming the stream or group that does not exist', async () => {
      await admin.xgroup('CREATE', `${prefix}Email`, 'mailer', '$', 'MKSTREAM');
      const missingStream = await run('status', '--stream', 'Emial');
      expect(missingStream.code).toBe(1);
      expect(missingStream.stderr).toContain(`Stream "Emial" does not exist (Redis key "${prefix}Emial")`);
      const missingGroup = await run('status', '--stream', 'Email', '--group', 'mailr');
      expect(missingGroup.code).toBe(1);
      expect(missingGroup.stderr).toContain('Consumer group "mailr" does not exist on stream "Email"');
    });
  });

  describe('connection errors', () => {
    it('fails with the address to fix when Redis is unreachable', async () => {
      const port = await freePort();
      const { code, stdout, stderr } = await runCli(cli.main, ['status', '--url', `redis://127.0.0.1:${port}`]);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toContain(`Could not reach Redis at redis://127.0.0.1:${port}`);
      expect(stderr).toContain('--url or REDIS_URL');
    });

    it('refuses a URL that is not a Redis URL, as a usage error', async () => {
      const { code, stderr } = await runCli(cli.main, ['status', '--url', 'http://127.0.0.1:6379']);
      expect(code).toBe(2);
      expect(stderr).toContain('must start with redis:// or rediss://');
    });

    it('refuses unknown commands and options as usage errors', async () => {
      expect((await runCli(cli.main, ['stats'])).stderr).toContain('Unknown command "stats"');
      const unknownOption = await runCli(cli.main, ['status', '--verbose']);
      expect(unknownOption.code).toBe(2);
      expect(unknownOption.stderr).toContain("Unknown option '--verbose'");
    });

    it('prints help with exit code 0', async () => {
      const { code, stdout } = await runCli(cli.main, ['--help']);
      expect(code).toBe(0);
      expect(stdout).toContain('dead-letters replay <stream>');
    });
  });

  describe('dead-letters', () => {
    it('lists the dead letters a server produced, with why they failed', async () => {
      await startServer();
      failures.add(2);
      for (let i = 0; i < 3; i++) await client.dispatch('Email', { n: i });
      await waitFor(async () => (await admin.xlen(`${prefix}Email:dead`)) === 1, 'one dead letter');

      const table = await run('dead-letters', 'list', 'Email');
      expect(table.code).toBe(0);
      const [[deadId, fields]] = (await admin.xrange(`${prefix}Email:dead`, '-', '+')) as [string, string[]][];
      const reason = fields[fields.indexOf('dl:reason') + 1];
      expect(table.stdout.split('\n')[1]).toMatch(
        new RegExp(`^${deadId}\\s+\\d+-\\d+\\s+mailer\\s+worker-1\\s+1\\s+\\S+\\s+${reason}$`),
      );

      const json = await run('dead-letters', 'list', 'Email', '--json');
      const report = JSON.parse(json.stdout) as {
        total: number;
        deadLetters: { fields: Record<string, string>; group: string }[];
      };
      expect(report.total).toBe(1);
      expect(report.deadLetters[0]).toMatchObject({ group: 'mailer', fields: { data: '{"n":2}' } });
    });

    it('replays the chosen dead letters onto the stream, where the server handles them again', async () => {
      await startServer();
      failures.add(1).add(2);
      for (let i = 0; i < 3; i++) await client.dispatch('Email', { n: i });
      await waitFor(async () => (await admin.xlen(`${prefix}Email:dead`)) === 2, 'two dead letters');
      const [first] = (await admin.xrange(`${prefix}Email:dead`, '-', '+')) as [string, string[]][];

      failures.clear();
      const replay = await run('dead-letters', 'replay', 'Email', '--id', first[0]);
      expect(replay.stderr).toBe('');
      expect(replay.code).toBe(0);
      expect(replay.stdout).toMatch(/^Replayed 1 dead letters onto stream "Email" as new entries: \d+-\d+/);
      expect(await admin.xlen(`${prefix}Email:dead`)).toBe(1);
      await settled(); // the replayed entry was handled and acked, not dead-lettered again:
      expect(await admin.xlen(`${prefix}Email:dead`)).toBe(1);
      const entries = (await admin.xrange(`${prefix}Email`, '-', '+')) as [string, string[]][];
      expect(entries.map(([, fields]) => fields[1])).toEqual(['{"n":0}', '{"n":1}', '{"n":2}', '{"n":1}']);

      const rest = await run('dead-letters', 'replay', 'Email', '--count', '10', '--json');
      expect(JSON.parse(rest.stdout)).toMatchObject({
        stream: 'Email',
        replayed: [expect.stringMatching(/^\d+-\d+$/)],
      });
      expect(await admin.xlen(`${prefix}Email:dead`)).toBe(0);
      await settled();
      expect(await admin.xlen(`${prefix}Email:dead`)).toBe(0); // handled without failing this time
    });

    it('fails when an id to replay is not a dead letter, and when the stream does not exist', async () => {
      await client.dispatch('Email', { n: 1 });
      const unknownId = await run('dead-letters', 'replay', 'Email', '--id', '1-1');
      expect(unknownId.code).toBe(1);
      expect(unknownId.stderr).toContain(`1 of the given ids are not in ${prefix}Email:dead`);
      const missing = await run('dead-letters', 'list', 'Emial');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('Stream "Emial" does not exist');
      const noStream = await run('dead-letters', 'list');
      expect(noStream.code).toBe(2);
      expect(noStream.stderr).toContain('needs the stream name');
    });
  });
});
