import 'reflect-metadata';
import { Controller, ServiceUnavailableException } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import { HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { RedisStreamsClient } from 'nestjs-redis-streams';
import { RedisStreamsHealthIndicator } from 'nestjs-redis-streams/health';
import { startService, type TestService } from '../support/nest-app.js';
import { randomName, RedisServer, waitFor } from '../support/redis-server.js';

@Controller()
class EmailController {
  @EventPattern('Email')
  handle() {
    // consumed and acked
  }
}

describe('RedisStreamsHealthIndicator', () => {
  let redis: RedisServer;
  let admin: Redis;
  let client: RedisStreamsClient;
  let service: TestService;
  let prefix: string;
  const indicator = new RedisStreamsHealthIndicator(new HealthIndicatorService());

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
    client = new RedisStreamsClient({ connection: redis.url, keyPrefix: prefix });
    service = await startService([EmailController], { connection: redis.url, keyPrefix: prefix, group: 'mailer' });
  });
  afterEach(async () => {
    await service.close();
    await client.close();
  });

  it('is up with lag, pending and consumers of each expected group when all is well', async () => {
    await client.dispatch('Email', { n: 1 });
    await waitFor(
      async () => Number(((await admin.xpending(`${prefix}Email`, 'mailer')) as [number])[0]) === 0,
      'entry acked',
    );
    const result = await indicator.isHealthy('streams', {
      redis: service.server,
      keyPrefix: prefix,
      groups: [{ stream: 'Email', group: 'mailer' }],
      maxLag: 10,
      maxPending: 10,
    });
    expect(result).toEqual({
      streams: { status: 'up', groups: { 'Email/mailer': { lag: 0, pending: 0, consumers: 1 } } },
    });
  });

  it('is down naming a group that is missing from its stream, and a stream that does not exist', async () => {
    const result = await indicator.isHealthy('streams', {
      redis: service.server,
      keyPrefix: prefix,
      groups: [
        { stream: 'Email', group: 'mailer' },
        { stream: 'Email', group: 'billing' },
        { stream: 'Invoices', group: 'billing' },
      ],
    });
    expect(result.streams.status).toBe('down');
    const problems = (result.streams as unknown as { problems: string[] }).problems;
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain('Consumer group "billing" does not exist on stream "Email"');
    expect(problems[1]).toContain('Stream "Invoices" does not exist');
  });

  it('is down when a group lags or holds more pending entries than allowed', async () => {
    const key = `${prefix}Email`;
    await admin.xgroup('CREATE', key, 'reports', '$');
    for (let i = 0; i < 5; i++) await client.dispatch('Email', { n: i });
    await admin.xreadgroup('GROUP', 'reports', 'r1', 'COUNT', 3, 'STREAMS', key, '>');
    const result = await indicator.isHealthy('streams', {
      redis: service.server,
      keyPrefix: prefix,
      groups: [{ stream: 'Email', group: 'reports' }],
      maxLag: 1,
      maxPending: 2,
    });
    expect(result.streams).toMatchObject({
      status: 'down',
      problems: [
        'Group "reports" on stream "Email" is 2 entries behind (maxLag 1).',
        'Group "reports" on stream "Email" has 3 unacknowledged entries (maxPending 2).',
      ],
      groups: { 'Email/reports': { lag: 2, pending: 3, consumers: 1 } },
    });
  });

  it('is down when Redis does not answer in time', async () => {
    const gone = await RedisServer.start();
    const connection = new Redis(gone.port, '127.0.0.1', { maxRetriesPerRequest: null });
    connection.on('error', () => undefined); // the refused reconnects are the point of this test
    await connection.ping();
    await gone.stop();
    try {
      const result = await indicator.isHealthy('streams', { redis: connection, timeout: 300 });
      expect(result).toEqual({ streams: { status: 'down', problems: ['Redis did not answer within 300 ms.'] } });
    } finally {
      connection.disconnect();
    }
  });

  it('is down when the server is not listening yet', async () => {
    const result = await indicator.isHealthy('streams', {
      redis: {
        unwrap: () => {
          throw new Error('RedisStreamsServer is not listening yet');
        },
      },
    });
    expect(result.streams).toMatchObject({ status: 'down', problems: [expect.stringContaining('not listening yet')] });
  });

  it('plugs into TerminusModule: HealthCheckService fails the check with the details', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [TerminusModule],
      providers: [RedisStreamsHealthIndicator],
    }).compile();
    try {
      const health = moduleRef.get(HealthCheckService);
      const streams = moduleRef.get(RedisStreamsHealthIndicator);
      const options = { redis: service.server, keyPrefix: prefix };
      await expect(
        health.check([
          () => streams.isHealthy('streams', { ...options, groups: [{ stream: 'Email', group: 'mailer' }] }),
        ]),
      ).resolves.toMatchObject({
        status: 'ok',
      });
      const failing = health.check([
        () => streams.isHealthy('streams', { ...options, groups: [{ stream: 'Email', group: 'nobody' }] }),
      ]);
      await expect(failing).rejects.toBeInstanceOf(ServiceUnavailableException);
      await expect(failing).rejects.toMatchObject({
        response: {
          status: 'error',
          error: { streams: { status: 'down', problems: [expect.stringContaining('"nobody"')] } },
        },
      });
    } finally {
      await moduleRef.close();
    }
  });
});
