import type { Redis } from 'ioredis';
import { RedisStreamsClient, type RedisStreamsServerOptions } from 'nestjs-redis-streams';
import { FreezingProxy } from '../support/freezing-proxy.js';
import { broadcastHandler, groupHandler, pendingCount, sleep } from '../support/handlers.js';
import { waitFor } from '../support/redis-server.js';
import { useStreamFixture } from '../support/stream-fixture.js';

/** Guards of FAILURE-MODES.md items 1–3: vanished streams and groups, lost reads, shutdown. */
describe('faults', () => {
  const fx = useStreamFixture({ group: 'G', block: 200 });
  let admin: Redis;
  let client: RedisStreamsClient;
  let key: string;
  beforeEach(() => {
    ({ admin, client } = fx);
    key = fx.key('Events');
  });

  async function start(behaviour: Parameters<typeof groupHandler>[1], options: RedisStreamsServerOptions = {}) {
    return fx.start([groupHandler('Events', behaviour)], options);
  }

  it('resumes consuming after Redis restarts and loses its data, recreating the group', async () => {
    const seen: number[] = [];
    await start((data) => void seen.push((data as { n: number }).n));
    for (let n = 0; n < 5; n++) await client.dispatch('Events', { n });
    await waitFor(() => seen.length === 5, 'before the restart');
    await fx.redis.restart(true);
    fx.reconnectAdmin();
    admin = fx.admin;
    for (let n = 5; n < 10; n++) await client.dispatch('Events', { n });
    await waitFor(() => seen.length === 10, 'entries written after the restart', 20_000);
    expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('recreates a deleted stream and its group and goes on, with a log line instead of an error loop', async () => {
    const seen: number[] = [];
    await start((data) => void seen.push((data as { n: number }).n));
    await client.dispatch('Events', { n: 1 });
    await waitFor(() => seen.length === 1, 'first entry');
    await admin.del(key);
    await client.dispatch('Events', { n: 2 });
    await client.dispatch('Events', { n: 3 });
    await waitFor(() => seen.length === 3, 'entries after the stream was deleted', 10_000);
    expect(seen).toEqual([1, 2, 3]);
    const groups = (await admin.xinfo('GROUPS', key)) as unknown[][];
    expect(groups).toHaveLength(1);
  });

  it('recreates a destroyed group from the start of the stream, so nothing added meanwhile is skipped', async () => {
    const seen: number[] = [];
    await start((data) => void seen.push((data as { n: number }).n));
    await client.dispatch('Events', { n: 1 });
    await waitFor(() => seen.length === 1, 'first entry');
    await admin.xgroup('DESTROY', key, 'G');
    await client.dispatch('Events', { n: 2 });
    await waitFor(() => seen.includes(2), 'entry added while the group was gone', 10_000);
  });

  it('resumes after its connections are killed (CLIENT KILL)', async () => {
    const seen: number[] = [];
    await start((data) => void seen.push((data as { n: number }).n));
    await client.dispatch('Events', { n: 1 });
    await waitFor(() => seen.length === 1, 'first entry');
    await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await sleep(100);
    for (let n = 2; n <= 5; n++) await client.dispatch('Events', { n });
    await waitFor(() => seen.length === 5, 'entries after the connections were killed', 10_000);
    await waitFor(async () => (await pendingCount(admin, key, 'G')) === 0, 'all acked');
  });

  it('replaces a connection that silently stops answering (watchdog and heartbeat)', async () => {
    const proxy = new FreezingProxy(fx.redis.port);
    await proxy.start();
    try {
      const seen: number[] = [];
      await start((data) => void seen.push((data as { n: number }).n), {
        connection: proxy.url,
        heartbeatInterval: 1000,
      });
      await client.dispatch('Events', { n: 1 });
      await waitFor(() => seen.length === 1, 'first entry');
      expect(proxy.freeze()).toBeGreaterThanOrEqual(2);
      await client.dispatch('Events', { n: 2 });
      await waitFor(() => seen.length === 2, 'entry read on a replaced connection', 15_000);
      await waitFor(
        async () => (await pendingCount(admin, key, 'G')) === 0,
        'acks flow on a replaced connection',
        15_000,
      );
    } finally {
      await fx.closeServices();
      await proxy.stop();
    }
  });

  it('resumes broadcast readers after a Redis restart', async () => {
    const seen: number[] = [];
    await fx.start([broadcastHandler('Events', (data) => void seen.push((data as { n: number }).n))]);
    await client.dispatch('Events', { n: 1 });
    await waitFor(() => seen.length === 1, 'first broadcast');
    await fx.redis.restart(true);
    fx.reconnectAdmin();
    admin = fx.admin;
    await client.dispatch('Events', { n: 2 });
    await waitFor(() => seen.length === 2, 'broadcast after the restart', 20_000);
  });

  describe('shutdown', () => {
    it('stops reading at once, waits for in-flight handlers, acks them and closes its connections', async () => {
      const finished: number[] = [];
      const service = await start(
        async (data) => {
          await sleep(300);
          finished.push((data as { n: number }).n);
        },
        { block: 10_000, shutdownTimeout: 5000 },
      );
      for (let n = 0; n < 5; n++) await client.dispatch('Events', { n });
      await waitFor(async () => (await pendingCount(admin, key, 'G')) === 5, 'five in flight');
      await fx.closeServices();
      expect(finished).toHaveLength(5);
      expect(await pendingCount(admin, key, 'G')).toBe(0);
      const clients = (await admin.client('LIST')) as string;
      expect(clients).not.toContain(service.server.consumer);
    });

    it('leaves entries whose handlers outlive shutdownTimeout pending, and keeps that consumer in the group', async () => {
      let release!: () => void;
      const hold = new Promise<void>((resolve) => (release = resolve));
      const service = await start(() => hold, { shutdownTimeout: 100 });
      for (let n = 0; n < 3; n++) await client.dispatch('Events', { n });
      await waitFor(async () => (await pendingCount(admin, key, 'G')) === 3, 'three in flight');
      await fx.closeServices();
      release();
      await sleep(100);
      expect(await pendingCount(admin, key, 'G')).toBe(3);
      const consumers = (await admin.xinfo('CONSUMERS', key, 'G')) as unknown[][];
      expect(consumers.map((c) => c[1])).toContain(service.server.consumer);
    });

    it('removes a closing consumer that has nothing pending from its group', async () => {
      await start(() => undefined);
      await client.dispatch('Events', { n: 1 });
      await waitFor(async () => (await admin.xlen(key)) === 1 && (await pendingCount(admin, key, 'G')) === 0, 'acked');
      await fx.closeServices();
      const consumers = (await admin.xinfo('CONSUMERS', key, 'G')) as unknown[][];
      expect(consumers).toHaveLength(0);
    });

    it('is harmless to call twice', async () => {
      const service = await start(() => undefined);
      await Promise.all([service.server.close(), service.server.close()]);
      await fx.closeServices();
    });
  });
});
