import 'reflect-metadata';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Redis, type RedisOptions } from 'ioredis';
import {
  Broadcast,
  PayloadTooLargeError,
  RedisStreamsClient,
  type RedisStreamsContext,
  type RedisStreamsServerOptions,
} from 'nestjs-redis-streams';
import { startService, type TestService } from '../support/nest-app.js';
import { APP_COMMANDS, OPS_COMMANDS } from '../support/acl.js';
import { buildCli, runCli } from '../support/cli-process.js';
import { freePort, randomName, RedisServer, waitFor } from '../support/redis-server.js';

function aclRules(password: string, prefix: string, commands: string[]): string[] {
  return ['reset', 'on', `>${password}`, `~${prefix}*`, 'resetchannels', '-@all', ...commands.map((c) => `+${c}`)];
}

const seen: { stream: string; data: unknown; group?: string }[] = [];

@Controller()
class MailerController {
  @EventPattern('Email')
  handle(@Payload() data: { n: number; fail?: boolean }, @Ctx() ctx: RedisStreamsContext) {
    seen.push({ stream: ctx.getStream(), data, group: ctx.getGroup() });
    if (data.fail) throw new Error(`cannot deliver ${data.n}`);
  }

  @Broadcast('Audit')
  audit(@Payload() data: unknown) {
    seen.push({ stream: 'Audit', data });
  }
}

describe('security', () => {
  let cli: { main: string; dir: string };

  beforeAll(() => {
    cli = buildCli();
  });
  afterAll(() => rmSync(cli.dir, { recursive: true, force: true }));
  beforeEach(() => {
    seen.length = 0;
  });

  describe('a least-privilege ACL user', () => {
    let redis: RedisServer;
    let admin: Redis;
    let prefix: string;
    let services: TestService[] = [];
    let clients: RedisStreamsClient[] = [];
    const password = 'c0rrect-h0rse';

    const url = (user: string, secret = password) => `redis://${user}:${secret}@127.0.0.1:${redis.port}`;

    beforeAll(async () => {
      redis = await RedisServer.start();
      admin = redis.client();
    });
    afterAll(async () => {
      admin.disconnect();
      await redis.stop();
    });
    beforeEach(async () => {
      prefix = `${randomName()}:`;
      await admin.call('ACL', 'SETUSER', 'app', ...aclRules(password, prefix, APP_COMMANDS));
      await admin.call('ACL', 'SETUSER', 'ops', ...aclRules(password, prefix, OPS_COMMANDS));
      await admin.call('ACL', 'LOG', 'RESET');
    });
    afterEach(async () => {
      await Promise.all(services.map((s) => s.close()));
      await Promise.all(clients.map((c) => c.close()));
      services = [];
      clients = [];
    });

    function client(connection: string, options: { keyPrefix?: string } = {}): RedisStreamsClient {
      const c = new RedisStreamsClient({ connection, keyPrefix: prefix, ...options });
      clients.push(c);
      return c;
    }

    async function deniedCommands(): Promise<string[]> {
      const log = (await admin.call('ACL', 'LOG')) as unknown[][];
      return log.map((row) => {
        const entry: Record<string, unknown> = {};
        for (let i = 0; i < row.length; i += 2) entry[String(row[i])] = row[i + 1];
        return `${String(entry.reason)}:${String(entry.object)} by ${String(entry.username)}`;
      });
    }

    it('runs consumer groups, broadcast, retries, claims, idle clean-up and dead letters without a denied command', async () => {
      const key = `${prefix}Email`;
      // A consumer that died holding an entry, and one idle with nothing pending: the server claims and removes them.
      await admin.xgroup('CREATE', key, 'mailer', '$', 'MKSTREAM');
      await admin.xadd(key, '*', 'data', JSON.stringify({ n: 0 }));
      await admin.xreadgroup('GROUP', 'mailer', 'crashed', 'COUNT', 1, 'STREAMS', key, '>');
      await admin.call('XGROUP', 'CREATECONSUMER', key, 'mailer', 'idle-one');

      const options: RedisStreamsServerOptions = {
        connection: url('app'),
        keyPrefix: prefix,
        group: 'mailer',
        maxDeliveries: 2,
        retryBackoff: () => 20,
        minIdleTime: 100,
        claimInterval: 50,
        consumerIdleTimeout: 50,
      };
      services.push(await startService([MailerController], options));
      const producer = client(url('app'));
      await producer.dispatch('Email', { n: 1 });
      await producer.dispatch('Email', { n: 2, fail: true });
      await producer.dispatch('Audit', { n: 3 });

      await waitFor(
        async () => (await admin.xlen(`${key}:dead`)) === 1,
        'the failing entry dead-lettered after 2 deliveries',
      );
      await waitFor(
        () => seen.some((s) => (s.data as { n: number }).n === 0),
        'the crashed consumer’s entry claimed and handled',
      );
      await waitFor(
        async () => !(await consumerNames(admin, key, 'mailer')).includes('idle-one'),
        'the idle consumer removed',
      );
      expect(seen.filter((s) => (s.data as { n: number }).n === 2)).toHaveLength(2);
      expect(seen.some((s) => s.stream === 'Audit')).toBe(true);

      await services[0].close();
      services = [];
      expect(await deniedCommands()).toEqual([]);
    });

    it('keeps the user inside its key prefix', async () => {
      const outsider = client(url('app'), { keyPrefix: 'billing:' });
      await expect(outsider.dispatch('Email', { n: 1 })).rejects.toThrow(/NOPERM/);
      expect(await admin.exists('billing:Email')).toBe(0);
      expect(await deniedCommands()).toEqual(['key:billing:Email by app']);
    });

    it('runs the CLI with an operator user: status, dead-letters list and replay', async () => {
      const key = `${prefix}Email`;
      await admin.xgroup('CREATE', key, 'mailer', '$', 'MKSTREAM');
      await admin.xadd(
        `${key}:dead`,
        '*',
        'dl:stream',
        key,
        'dl:id',
        '1-1',
        'dl:group',
        'mailer',
        'dl:reason',
        'boom',
        'data',
        '{"n":9}',
      );
      const ops = (...args: string[]) => runCli(cli.main, ['--url', url('ops'), '--prefix', prefix, ...args]);

      const status = await ops('status', '--json');
      expect(status.stderr).toBe('');
      expect(JSON.parse(status.stdout)).toMatchObject({
        streams: [{ name: 'Email', deadLetters: 1, groups: [{ name: 'mailer' }] }],
      });
      const list = await ops('dead-letters', 'list', 'Email', '--json');
      expect(JSON.parse(list.stdout)).toMatchObject({ total: 1, deadLetters: [{ reason: 'boom' }] });
      const replay = await ops('dead-letters', 'replay', 'Email');
      expect(replay.code).toBe(0);
      expect(await admin.xlen(key)).toBe(1);
      expect(await deniedCommands()).toEqual([]);
    });

    it('fails with an error naming the credentials when the password is wrong', async () => {
      const wrong = url('app', 'not-the-password');
      const producer = client(wrong);
      await expect(producer.connect()).rejects.toThrow(/WRONGPASS.*Check the user and password/);
      await expect(
        startService([MailerController], { connection: wrong, keyPrefix: prefix, group: 'mailer' }),
      ).rejects.toThrow(/WRONGPASS.*Check the user and password/);
      const status = await runCli(cli.main, ['status', '--url', wrong, '--prefix', prefix]);
      expect(status.code).toBe(1);
      expect(status.stderr).toContain(`Redis at redis://app:***@127.0.0.1:${redis.port} refused the credentials`);
      expect(status.stderr).not.toContain('not-the-password');
    });
  });

  describe('TLS (rediss://)', () => {
    let dir: string;
    let tls: { port: number; process: ChildProcess; ca: Buffer };
    let prefix: string;
    let services: TestService[] = [];
    let clients: RedisStreamsClient[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'redis-streams-tls-'));
      makeCertificates(dir);
      tls = await startTlsRedis(dir);
    });
    afterAll(async () => {
      const exited = new Promise((resolve) => tls?.process.once('exit', resolve));
      tls?.process.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    });
    beforeEach(() => {
      prefix = `${randomName()}:`;
    });
    afterEach(async () => {
      await Promise.all(services.map((s) => s.close()));
      await Promise.all(clients.map((c) => c.close()));
      services = [];
      clients = [];
    });

    const connection = (extra: RedisOptions = {}): RedisOptions => ({
      host: '127.0.0.1',
      port: tls.port,
      tls: { ca: tls.ca },
      ...extra,
    });

    it('carries consumer groups, broadcast and the client over TLS, checking the server certificate', async () => {
      services.push(
        await startService([MailerController], { connection: connection(), keyPrefix: prefix, group: 'mailer' }),
      );
      const producer = new RedisStreamsClient({ connection: connection(), keyPrefix: prefix });
      clients.push(producer);
      await producer.dispatch('Email', { n: 1 });
      await producer.dispatch('Audit', { n: 2 });
      await waitFor(() => seen.length === 2, 'both entries handled over TLS');
      expect(seen.map((s) => s.stream).sort()).toEqual(['Audit', 'Email']);
    });

    it('refuses a server whose certificate is not signed by a trusted CA', async () => {
      const producer = new RedisStreamsClient({
        connection: { host: '127.0.0.1', port: tls.port, tls: {}, retryStrategy: () => null },
      });
      clients.push(producer);
      await expect(producer.connect()).rejects.toThrow(/certificate.*private CA/i);
    });

    it('runs the CLI over rediss:// with --tls-ca', async () => {
      const producer = new RedisStreamsClient({ connection: connection(), keyPrefix: prefix });
      clients.push(producer);
      await producer.dispatch('Email', { n: 1 });
      const status = await runCli(cli.main, [
        'status',
        '--url',
        `rediss://127.0.0.1:${tls.port}`,
        '--tls-ca',
        join(dir, 'ca.crt'),
        '--prefix',
        prefix,
        '--json',
      ]);
      expect(status.stderr).toBe('');
      expect(JSON.parse(status.stdout)).toMatchObject({ streams: [{ name: 'Email', length: 1 }] });
      const untrusted = await runCli(cli.main, ['status', '--url', `rediss://127.0.0.1:${tls.port}`]);
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr).toContain('--tls-ca');
    });
  });

  describe('key prefixes and payload limits', () => {
    let redis: RedisServer;
    let admin: Redis;
    let services: TestService[] = [];
    let clients: RedisStreamsClient[] = [];

    beforeAll(async () => {
      redis = await RedisServer.start();
      admin = redis.client();
    });
    afterAll(async () => {
      admin.disconnect();
      await redis.stop();
    });
    afterEach(async () => {
      await Promise.all(services.map((s) => s.close()));
      await Promise.all(clients.map((c) => c.close()));
      services = [];
      clients = [];
    });

    function newClient(options: ConstructorParameters<typeof RedisStreamsClient>[0]): RedisStreamsClient {
      const c = new RedisStreamsClient({ connection: redis.url, ...options });
      clients.push(c);
      return c;
    }

    it('keeps two apps with the same stream and group names apart on one Redis', async () => {
      const [a, b] = [`${randomName('a')}:`, `${randomName('b')}:`];
      services.push(await startService([MailerController], { connection: redis.url, keyPrefix: a, group: 'mailer' }));
      await newClient({ keyPrefix: a }).dispatch('Email', { n: 1 });
      await newClient({ keyPrefix: b }).dispatch('Email', { n: 2 });
      await waitFor(() => seen.length === 1, 'app a handled its entry');
      expect(seen).toEqual([{ stream: 'Email', data: { n: 1 }, group: 'mailer' }]);
      // App b's stream was never touched by app a: no group was created on it, its entry is unread.
      expect(await admin.xinfo('GROUPS', `${b}Email`)).toEqual([]);
      expect(await admin.xlen(`${b}Email`)).toBe(1);
    });

    it('refuses emits over maxPayloadBytes with PayloadTooLargeError and writes nothing', async () => {
      const prefix = `${randomName()}:`;
      const producer = newClient({ keyPrefix: prefix, maxPayloadBytes: 1024 });
      const rejected = producer.dispatch('Email', { body: 'x'.repeat(2000) });
      await expect(rejected).rejects.toBeInstanceOf(PayloadTooLargeError);
      await expect(rejected).rejects.toThrow(/over the limit of 1024 bytes.*maxPayloadBytes/);
      await expect(producer.dispatch('Email', { body: 'x'.repeat(100) })).resolves.toMatch(/^\d+-\d+$/);
      expect(await admin.xlen(`${prefix}Email`)).toBe(1);
    });

    it('dead-letters larger entries written by others, without running the handler', async () => {
      const prefix = `${randomName()}:`;
      services.push(
        await startService([MailerController], {
          connection: redis.url,
          keyPrefix: prefix,
          group: 'mailer',
          maxPayloadBytes: 1024,
        }),
      );
      await admin.xadd(`${prefix}Email`, '*', 'data', JSON.stringify({ n: 1, body: 'x'.repeat(5000) }));
      await admin.xadd(`${prefix}Email`, '*', 'data', JSON.stringify({ n: 2 }));
      await waitFor(() => seen.length === 1, 'the small entry handled');
      await waitFor(async () => (await admin.xlen(`${prefix}Email:dead`)) === 1, 'the large entry dead-lettered');
      expect(seen.map((s) => (s.data as { n: number }).n)).toEqual([2]);
      const [[, fields]] = (await admin.xrange(`${prefix}Email:dead`, '-', '+')) as [string, string[]][];
      expect(fields[fields.indexOf('dl:reason') + 1]).toMatch(/^Entry too large: .*over maxPayloadBytes \(1024\)/);
      // A reference to the refused entry, not a second copy of its body: it stays in its stream at its id.
      expect(fields).not.toContain('data');
      expect(Number(fields[fields.indexOf('dl:size') + 1])).toBeGreaterThan(5000);
      const [[id]] = (await admin.xrange(`${prefix}Email`, '-', '+', 'COUNT', 1)) as [string, string[]][];
      expect(fields[fields.indexOf('dl:id') + 1]).toBe(id);
    });
  });
});

async function consumerNames(redis: Redis, key: string, group: string): Promise<string[]> {
  const rows = (await redis.call('XINFO', 'CONSUMERS', key, group)) as unknown[][];
  return rows.map((row) => String(row[1]));
}

/** A throwaway CA and a server certificate for 127.0.0.1 / localhost signed by it (EC keys: fast to make). */
function makeCertificates(dir: string): void {
  const openssl = (...args: string[]) => {
    try {
      return execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error('The TLS tests make their certificates with openssl: apt-get install -y openssl', {
          cause: err,
        });
      }
      throw err;
    }
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=redis-streams test CA',
  );
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
}

/** redis-server listening on TLS only (`--port 0`), answering PING over TLS before this returns. */
async function startTlsRedis(dir: string): Promise<{ port: number; process: ChildProcess; ca: Buffer }> {
  const port = await freePort();
  const child = spawn(
    process.env.REDIS_SERVER_BIN ?? 'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      join(dir, 'server.crt'),
      '--tls-key-file',
      join(dir, 'server.key'),
      '--tls-ca-cert-file',
      join(dir, 'ca.crt'),
      '--tls-auth-clients',
      'no',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const ca = readFileSync(join(dir, 'ca.crt'));
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`redis-server with TLS exited with ${child.exitCode}: ${output}`);
      const probe = new Redis({
        host: '127.0.0.1',
        port,
        tls: { ca },
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        probe.disconnect();
      }
    }, `redis-server answering over TLS on ${port}`);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { port, process: child, ca };
}
