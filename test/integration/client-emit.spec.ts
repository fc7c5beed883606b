import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { lastValueFrom } from 'rxjs';
import { RedisStreamsClient } from 'nestjs-redis-streams';
import { randomName, RedisServer, waitFor } from '../support/redis-server.js';

describe('client emit', () => {
  let redis: RedisServer;
  let admin: Redis;
  let prefix: string;
  const clients: RedisStreamsClient[] = [];
  const newClient = (options: ConstructorParameters<typeof RedisStreamsClient>[0] = {}) => {
    const client = new RedisStreamsClient({ connection: redis.url, keyPrefix: prefix, ...options });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis.stop();
  });
  beforeEach(() => {
    admin = redis.client();
    prefix = `${randomName()}:`;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    admin.disconnect();
  });

  it("stores a new client's emits of its first tick in call order, the first one first", async () => {
    const client = newClient();
    const ids = Array.from({ length: 10 }, (_, n) => lastValueFrom(client.emit('Order', { n })));
    const resolved = await Promise.all(ids);
    const stored = await admin.xrange(`${prefix}Order`, '-', '+');
    expect(stored.map(([, fields]) => (JSON.parse(fields[1]) as { n: number }).n)).toEqual(
      Array.from({ length: 10 }, (_, n) => n),
    );
    expect(stored.map(([id]) => id)).toEqual(resolved);
  });

  it('keeps call order for emits made while the first connect is still under way, across ticks', async () => {
    const client = newClient();
    const written: Promise<string>[] = [];
    written.push(client.dispatch('Order', { n: 0 }));
    await Promise.resolve();
    written.push(client.dispatch('Order', { n: 1 }));
    await new Promise((r) => setImmediate(r));
    for (let n = 2; n < 6; n++) written.push(client.dispatch('Order', { n }));
    await Promise.all(written);
    written.push(client.dispatch('Order', { n: 6 }));
    await Promise.all(written);
    const stored = await admin.xrange(`${prefix}Order`, '-', '+');
    expect(stored.map(([, fields]) => (JSON.parse(fields[1]) as { n: number }).n)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('logs a rejected emit that nobody subscribed to, and hands the error to a subscriber instead of logging', async () => {
    const errors: string[] = [];
    const client = newClient({ maxPayloadBytes: 1024 });
    (client as unknown as { logger: Logger }).logger.error = (message: unknown) => {
      errors.push(String(message));
    };
    await client.connect();
    client.emit('Big', { body: 'x'.repeat(2048) }); // nobody subscribes
    await waitFor(() => errors.length === 1, 'the unobserved failure logged');
    expect(errors[0]).toMatch(/emit\('Big'\) failed and nobody subscribed.*maxPayloadBytes|larger than/i);

    const seen = await new Promise<unknown>((resolve) =>
      client.emit('Big', { body: 'x'.repeat(2048) }).subscribe({ next: resolve, error: resolve }),
    );
    expect((seen as Error).name).toBe('PayloadTooLargeError');
    await new Promise((r) => setTimeout(r, 50));
    expect(errors).toHaveLength(1);
    expect(await admin.exists(`${prefix}Big`)).toBe(0);
  });
});
