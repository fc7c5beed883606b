import type { Type } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisStreamsClient, type RedisStreamsServerOptions } from 'nestjs-redis-streams';
import { startService, type TestService, type TestServiceExtras } from './nest-app.js';
import { randomName, RedisServer } from './redis-server.js';

/**
 * What an integration spec works with: one private redis-server for the file, and per test a fresh key prefix, a
 * connected client, an admin connection for assertions, and services that are closed after the test.
 */
export interface StreamFixture {
  redis: RedisServer;
  /** A plain ioredis connection for assertions. */
  admin: Redis;
  /** A connected client (with the spec's `partitions`, if it gives any). */
  client: RedisStreamsClient;
  /** This test's key prefix. */
  prefix: string;
  /** Server options every service of this test starts from (connection, prefix, and the spec's defaults). */
  base: RedisStreamsServerOptions;
  /** The Redis key of a stream under this test's prefix. */
  key(stream: string): string;
  /** Starts a microservice with `controllers` on `base` + `options`; it is closed after the test. */
  start(controllers: Type[], options?: RedisStreamsServerOptions, extras?: TestServiceExtras): Promise<TestService>;
  /** Closes the services started so far (for tests that restart consumers themselves). */
  closeServices(): Promise<void>;
  /** Replaces the admin connection (after a Redis restart). */
  reconnectAdmin(): void;
}

/** Registers the hooks of a spec file and returns the fixture they fill in. */
export function useStreamFixture(defaults: RedisStreamsServerOptions = {}): StreamFixture {
  let services: TestService[] = [];
  const fixture = {
    key: (stream: string) => `${fixture.prefix}${stream}`,
    async start(controllers: Type[], options: RedisStreamsServerOptions = {}, extras?: TestServiceExtras) {
      const service = await startService(controllers, { ...fixture.base, ...options }, extras);
      services.push(service);
      return service;
    },
    async closeServices() {
      const closing = services;
      services = [];
      await Promise.all(closing.map((service) => service.close()));
    },
    reconnectAdmin() {
      fixture.admin.disconnect();
      fixture.admin = fixture.redis.client();
    },
  } as StreamFixture;

  beforeAll(async () => {
    fixture.redis = await RedisServer.start();
  });
  afterAll(async () => {
    await fixture.redis.stop();
  });
  beforeEach(async () => {
    fixture.admin = fixture.redis.client();
    fixture.prefix = `${randomName()}:`;
    fixture.base = { connection: fixture.redis.url, keyPrefix: fixture.prefix, ...defaults };
    // With the spec's partitioned streams, so that its emits go where its servers read.
    const { partitions } = defaults;
    fixture.client = new RedisStreamsClient({ connection: fixture.redis.url, keyPrefix: fixture.prefix, partitions });
    await fixture.client.connect();
  });
  afterEach(async () => {
    await fixture.closeServices();
    await fixture.client.close();
    fixture.admin.disconnect();
  });
  return fixture;
}
