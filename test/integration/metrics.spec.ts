import 'reflect-metadata';
import { Controller, type INestMicroservice, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { Redis } from 'ioredis';
import {
  Broadcast,
  RedisStreamsClient,
  RedisStreamsServer,
  type RedisStreamsServerOptions,
} from 'nestjs-redis-streams';
import { RedisStreamsMetrics } from 'nestjs-redis-streams/metrics';
import { Registry } from 'prom-client';
import { randomName, RedisServer, waitFor } from '../support/redis-server.js';

@Controller()
class EmailController {
  @EventPattern('Email')
  handle(@Payload() data: { fail?: boolean }) {
    if (data.fail) throw new Error('cannot send this one');
  }
}

@Controller()
class AuditController {
  static seen = 0;

  @Broadcast('Audit')
  handle() {
    AuditController.seen++;
  }
}

describe('RedisStreamsMetrics', () => {
  let redis: RedisServer;
  let admin: Redis;
  let client: RedisStreamsClient;
  let prefix: string;
  let registry: Registry;
  let apps: INestMicroservice[] = [];

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
    registry = new Registry();
    client = new RedisStreamsClient({ connection: redis.url, keyPrefix: prefix });
    await client.connect();
  });
  afterEach(async () => {
    await Promise.all(apps.map((app) => app.close()));
    apps = [];
    await client.close();
  });

  /** Starts a microservice whose server reports to a RedisStreamsMetrics on this test's registry. */
  async function start(
    controllers: Type[],
    options: Partial<RedisStreamsServerOptions> = {},
  ): Promise<RedisStreamsMetrics> {
    @Module({ controllers })
    class AppModule {}
    const server = new RedisStreamsServer({ connection: redis.url, keyPrefix: prefix, group: 'mailer', ...options });
    const metrics = new RedisStreamsMetrics({ registry, redis: server, keyPrefix: prefix });
    server.observe(metrics);
    const app = await NestFactory.createMicroservice(AppModule, { strategy: server, logger: false });
    await app.listen();
    apps.push(app);
    return metrics;
  }

  /** The value of a metric's series with exactly these labels, as a scrape would see it (undefined: no such series). */
  async function value(name: string, labels: Record<string, string>): Promise<number | undefined> {
    const metric = registry.getSingleMetric(name);
    if (!metric) throw new Error(`metric ${name} is not registered`);
    const { values } = await metric.get();
    const found = values.find(
      (v) =>
        Object.keys(labels).length === Object.keys(v.labels).length &&
        Object.entries(labels).every(([k, l]) => v.labels[k] === l),
    );
    return found?.value;
  }

  it('counts processed entries per stream and group and times their handlers', async () => {
    await start([EmailController]);
    for (let i = 0; i < 3; i++) await client.dispatch('Email', { n: i });
    const labels = { stream: `${prefix}Email`, group: 'mailer' };
    await waitFor(
      async () => (await value('redis_streams_entries_processed_total', labels)) === 3,
      '3 entries counted as processed',
    );
    expect(await value('redis_streams_entries_failed_total', labels)).toBeUndefined();
    const scrape = await registry.metrics();
    expect(scrape).toContain(
      `redis_streams_handler_duration_seconds_count{stream="${prefix}Email",group="mailer",outcome="processed"} 3`,
    );
  });

  it('counts each failed delivery and the dead letter that follows the last one', async () => {
    await start([EmailController], { maxDeliveries: 2, retryBackoff: () => 20 });
    await client.dispatch('Email', { fail: true });
    const labels = { stream: `${prefix}Email`, group: 'mailer' };
    await waitFor(
      async () => (await value('redis_streams_entries_dead_lettered_total', labels)) === 1,
      'the entry dead-lettered',
    );
    expect(await value('redis_streams_entries_failed_total', labels)).toBe(2);
    expect(await value('redis_streams_entries_processed_total', labels)).toBeUndefined();
    expect(await registry.metrics()).toContain(
      `redis_streams_handler_duration_seconds_count{stream="${prefix}Email",group="mailer",outcome="failed"} 2`,
    );
    expect(await value('redis_streams_dead_letters', { stream: `${prefix}Email` })).toBe(1);
  });

  it('counts entries claimed from a consumer that went away', async () => {
    const key = `${prefix}Email`;
    await admin.xgroup('CREATE', key, 'mailer', '$', 'MKSTREAM');
    await client.dispatch('Email', { n: 1 });
    // A consumer that read the entry and died before acking it.
    await admin.xreadgroup('GROUP', 'mailer', 'gone-consumer', 'COUNT', 10, 'STREAMS', key, '>');
    await start([EmailController], { minIdleTime: 100, claimInterval: 50 });
    const labels = { stream: key, group: 'mailer' };
    await waitFor(
      async () => (await value('redis_streams_entries_processed_total', labels)) === 1,
      'the claimed entry processed',
    );
    expect(await value('redis_streams_entries_claimed_total', labels)).toBe(1);
  });

  it('gauges lag, pending and consumers per stream and group from XINFO on each scrape', async () => {
    const key = `${prefix}Email`;
    await start([EmailController]);
    // A second group nobody serves yet: everything added is lag for it.
    await admin.xgroup('CREATE', key, 'reports', '$');
    for (let i = 0; i < 4; i++) await client.dispatch('Email', { n: i });
    await waitFor(
      async () =>
        (await value('redis_streams_group_lag', { stream: key, group: 'mailer' })) === 0 &&
        (await value('redis_streams_group_pending', { stream: key, group: 'mailer' })) === 0,
      'mailer caught up',
    );
    expect(await value('redis_streams_group_lag', { stream: key, group: 'reports' })).toBe(4);
    expect(await value('redis_streams_group_pending', { stream: key, group: 'reports' })).toBe(0);
    expect(await value('redis_streams_group_consumers', { stream: key, group: 'mailer' })).toBe(1);
    expect(await value('redis_streams_stream_length', { stream: key })).toBe(4);

    // A reports consumer takes two and holds them: lag falls, pending rises, on the very next scrape.
    await admin.xreadgroup('GROUP', 'reports', 'r1', 'COUNT', 2, 'STREAMS', key, '>');
    expect(await value('redis_streams_group_lag', { stream: key, group: 'reports' })).toBe(2);
    expect(await value('redis_streams_group_pending', { stream: key, group: 'reports' })).toBe(2);

    // A group that is destroyed disappears from the gauges instead of keeping its last value.
    await admin.xgroup('DESTROY', key, 'reports');
    expect(await value('redis_streams_group_lag', { stream: key, group: 'reports' })).toBeUndefined();
  });

  it('labels broadcast handlers with an empty group', async () => {
    AuditController.seen = 0;
    await start([AuditController]);
    await client.dispatch('Audit', { who: 'x' });
    await waitFor(
      async () => (await value('redis_streams_entries_processed_total', { stream: `${prefix}Audit`, group: '' })) === 1,
      'broadcast counted',
    );
    expect(AuditController.seen).toBe(1);
  });

  it('keeps serving counters and counts the failure when Redis cannot be read for the gauges', async () => {
    const metrics = new RedisStreamsMetrics({
      registry,
      redis: {
        unwrap: () => {
          throw new Error('RedisStreamsServer is not listening yet');
        },
      },
    });
    const scrape = await registry.metrics();
    expect(scrape).toContain('redis_streams_entries_processed_total');
    expect(scrape).not.toContain('redis_streams_group_lag{');
    expect(await metrics.gauges!.inspectErrors.get()).toMatchObject({ values: [{ value: 1 }] });
  });
});
