import { HealthIndicatorService } from '@nestjs/terminus';
import type { Cluster } from 'ioredis';
import { RedisStreamsClient, StreamInspector } from 'nestjs-redis-streams';
import { RedisStreamsHealthIndicator } from 'nestjs-redis-streams/health';
import { RedisStreamsMetrics } from 'nestjs-redis-streams/metrics';
import { Registry } from 'prom-client';
import { rmSync } from 'node:fs';
import { keySlot } from '../../../libs/redis-streams/src/cluster/key-slot.js';
import { type BuiltCli, buildCli, runCli } from '../../support/cli-process.js';
import { groupHandler } from '../../support/handlers.js';
import { startService, type TestService } from '../../support/nest-app.js';
import { RedisCluster } from '../../support/redis-cluster.js';
import { randomName, waitFor } from '../../support/redis-server.js';

describe('operating the transport on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let admin: Cluster;
  let cli: BuiltCli;
  let client: RedisStreamsClient;
  let service: TestService;
  let prefix: string;
  let streams: string[];

  beforeAll(async () => {
    cli = buildCli();
    cluster = await RedisCluster.start();
    admin = cluster.client();
    prefix = `${randomName()}:`;
    // Three streams on three different masters, one failing handler so that each has a dead letter.
    const byMaster = new Map<number, string>();
    for (let i = 0; byMaster.size < 3; i++) {
      const port = await cluster.masterOf(keySlot(`${prefix}S${i}`));
      if (!byMaster.has(port)) byMaster.set(port, `S${i}`);
    }
    streams = [...byMaster.values()].sort();
    const connection = { cluster: cluster.startupNodes };
    service = await startService(
      [
        ...streams.map((stream) =>
          groupHandler(stream, (data) => {
            if (data === 'poison') throw new Error('poison');
          }),
        ),
        groupHandler('Parts', () => undefined),
      ],
      {
        connection,
        keyPrefix: prefix,
        group: 'G',
        maxDeliveries: 1,
        claimInterval: 0,
        consumer: 'owner-1',
        partitions: { Parts: 2 },
      },
    );
    client = new RedisStreamsClient({ connection, keyPrefix: prefix });
    for (const stream of streams) {
      await client.dispatch(stream, 'fine');
      await client.dispatch(stream, 'poison');
    }
    for (const stream of streams) {
      await waitFor(async () => (await admin.xlen(`{${prefix}${stream}}:dead`)) === 1, `${stream} dead-lettered`);
    }
  }, 90_000);
  afterAll(async () => {
    await service?.close();
    await client?.close();
    admin?.disconnect();
    await cluster?.stop();
    if (cli) rmSync(cli.dir, { recursive: true, force: true });
  });

  it('discovers the streams of every master, with their dead letters', async () => {
    const inspector = new StreamInspector(admin, { keyPrefix: prefix });
    expect(await inspector.discover()).toEqual([...streams, 'Parts:p0', 'Parts:p1'].sort());
    for (const stream of streams) {
      const status = await inspector.stream(stream);
      expect(status.deadLetters).toBe(1);
      expect(status.groups.map((g) => [g.name, g.pending])).toEqual([['G', 0]]);
    }
  });

  it('reports health and metrics through a cluster connection', async () => {
    const health = new RedisStreamsHealthIndicator(new HealthIndicatorService());
    const result = await health.isHealthy('streams', {
      redis: service.server,
      keyPrefix: prefix,
      groups: streams.map((stream) => ({ stream, group: 'G' })),
    });
    expect(result.streams.status).toBe('up');
    const registry = new Registry();
    const metrics = new RedisStreamsMetrics({ registry, redis: admin, keyPrefix: prefix });
    expect(metrics).toBeDefined();
    const scrape = await registry.metrics();
    for (const stream of streams) expect(scrape).toContain(`stream="${prefix}${stream}"`);
  });

  it('shows status and lists and replays dead letters with the CLI and --cluster', async () => {
    const nodes = cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(',');
    const status = await runCli(cli.main, ['status', '--cluster', nodes, '--prefix', prefix, '--json']);
    expect(status.stderr).toBe('');
    const parsed = JSON.parse(status.stdout) as {
      streams: { name: string; deadLetters: number }[];
      partitions: { stream: string; partition: number; group: string; owner: string | null }[];
    };
    const named = parsed.streams.filter((s) => streams.includes(s.name));
    expect(named.map((s) => [s.name, s.deadLetters])).toEqual(streams.map((s) => [s, 1]));
    expect(parsed.partitions.map((p) => [p.stream, p.partition, p.group, p.owner])).toEqual([
      ['Parts', 0, 'G', 'owner-1'],
      ['Parts', 1, 'G', 'owner-1'],
    ]);
    const table = await runCli(cli.main, ['status', '--cluster', nodes, '--prefix', prefix]);
    expect(table.stdout).toMatch(/PARTITION\s+GROUP\s+OWNER/);
    const list = await runCli(cli.main, ['dead-letters', 'list', streams[0], '--prefix', prefix, '--json'], {
      REDIS_CLUSTER: nodes,
    });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('poison');
    const replay = await runCli(cli.main, [
      'dead-letters',
      'replay',
      streams[0],
      '--cluster',
      nodes,
      '--prefix',
      prefix,
    ]);
    expect(replay.code).toBe(0);
    await waitFor(
      async () => (await admin.xlen(`{${prefix}${streams[0]}}:dead`)) === 1,
      'the replayed entry failed again',
    );
    const bad = await runCli(cli.main, ['status', '--cluster', 'nowhere']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--cluster takes host:port');
  });
});
