import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { Cluster } from 'ioredis';
import {
  CrossSlotEffectError,
  DeadLetters,
  RedisStreamsClient,
  type RedisStreamsServerOptions,
  ReplicasNotConfirmedError,
} from 'nestjs-redis-streams';
import { firstValueFrom } from 'rxjs';
import { keySlot } from '../../../libs/redis-streams/src/cluster/key-slot.js';
import { broadcastHandler, groupHandler, pendingCount } from '../../support/handlers.js';
import { startService, type TestService } from '../../support/nest-app.js';
import { RedisCluster } from '../../support/redis-cluster.js';
import { randomName, waitFor } from '../../support/redis-server.js';

describe('the transport on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let admin: Cluster;
  let client: RedisStreamsClient;
  let services: TestService[] = [];
  let prefix: string;
  let base: RedisStreamsServerOptions;

  beforeAll(async () => {
    cluster = await RedisCluster.start();
    admin = cluster.client();
  }, 60_000);
  afterAll(async () => {
    admin?.disconnect();
    await cluster?.stop();
  });
  beforeEach(async () => {
    prefix = `${randomName()}:`;
    base = { connection: { cluster: cluster.startupNodes }, keyPrefix: prefix, group: 'G', claimInterval: 0 };
    client = new RedisStreamsClient({ connection: { cluster: cluster.startupNodes }, keyPrefix: prefix });
    await client.connect();
  });
  afterEach(async () => {
    await Promise.all(services.map((s) => s.close()));
    services = [];
    await client.close();
  });

  const start = async (controllers: Parameters<typeof startService>[0], options: RedisStreamsServerOptions = {}) => {
    const service = await startService(controllers, { ...base, ...options });
    services.push(service);
    return service;
  };

  /** Stream names whose keys live on three different masters. */
  async function streamsOnEveryMaster(): Promise<string[]> {
    const byMaster = new Map<number, string>();
    for (let i = 0; byMaster.size < 3; i++) {
      const port = await cluster.masterOf(keySlot(`${prefix}S${i}`));
      if (!byMaster.has(port)) byMaster.set(port, `S${i}`);
    }
    return [...byMaster.values()];
  }

  it("reads one group's streams that live on different masters, each entry once, and broadcasts them", async () => {
    const streams = await streamsOnEveryMaster();
    const seen = new Map<string, number>();
    const broadcast: string[] = [];
    const controllers = streams.flatMap((stream) => [
      groupHandler(
        stream,
        (data) => void seen.set(`${stream}/${String(data)}`, (seen.get(`${stream}/${String(data)}`) ?? 0) + 1),
      ),
      broadcastHandler(stream, (data) => void broadcast.push(`${stream}/${String(data)}`)),
    ]);
    await start(controllers, { consumer: 'a' });
    await start(controllers, { consumer: 'b' });
    for (let i = 0; i < 50; i++) for (const stream of streams) client.emit(stream, i);
    await waitFor(() => seen.size === 150, 'all 150 entries handled');
    await waitFor(() => broadcast.length === 300, 'every entry broadcast to both instances');
    expect([...seen.values()].every((runs) => runs === 1)).toBe(true);
    for (const stream of streams) {
      await waitFor(async () => (await pendingCount(admin, prefix + stream, 'G')) === 0, `${stream} acknowledged`);
    }
  });

  it('dead-letters to {stream}:dead in the stream slot, where DeadLetters finds them', async () => {
    await start([groupHandler('Email', () => Promise.reject(new Error('smtp down')), { maxDeliveries: 1 })]);
    await client.dispatch('Email', { to: 'a@b.c' });
    const dead = new DeadLetters(admin, { keyPrefix: prefix });
    await waitFor(async () => (await dead.count('Email')) === 1, 'one dead letter');
    expect(await admin.xlen(`{${prefix}Email}:dead`)).toBe(1);
    const [letter] = await dead.list('Email');
    expect(letter.stream).toBe(`${prefix}Email`);
    await dead.replay('Email', { ids: [letter.id] });
    expect(await admin.xlen(`${prefix}Email`)).toBe(2);
  });

  it('applies effects in the stream slot, and refuses keys of another slot with how to tag them', async () => {
    const errors: unknown[] = [];
    await start([
      groupHandler('Orders', (data, ctx) => {
        ctx.effects.incrBy(`{${prefix}Orders}:count`, 1);
        try {
          ctx.effects.incrBy(`${prefix}elsewhere`, 1);
        } catch (err) {
          errors.push(err);
        }
      }),
    ]);
    for (let i = 0; i < 10; i++) client.emit('Orders', i);
    await waitFor(async () => (await admin.get(`{${prefix}Orders}:count`)) === '10', 'ten effects applied');
    expect(errors).toHaveLength(10);
    expect(errors[0]).toBeInstanceOf(CrossSlotEffectError);
    expect(String(errors[0])).toContain(`{${prefix}Orders}:`);
  });

  it('answers requests over a reply stream on another node', async () => {
    @Controller()
    class Sum {
      @MessagePattern('sum')
      sum(@Payload() numbers: number[]) {
        return numbers.reduce((a, b) => a + b, 0);
      }
    }
    await start([Sum]);
    for (let i = 1; i <= 5; i++) expect(await firstValueFrom(client.send('sum', [i, i]))).toBe(2 * i);
  });

  it('completes durable emits on every master once its replica has them, and fails them when too few can', async () => {
    const streams = await streamsOnEveryMaster();
    const connection = { cluster: cluster.startupNodes };
    const durable = new RedisStreamsClient({
      connection,
      keyPrefix: prefix,
      durability: { replicas: 1, timeout: 5000 },
    });
    const strict = new RedisStreamsClient({ connection, keyPrefix: prefix, durability: { replicas: 2, timeout: 200 } });
    try {
      const ids = await Promise.all(streams.flatMap((stream) => [1, 2, 3].map((i) => durable.dispatch(stream, i))));
      expect(ids).toHaveLength(9);
      const failures = await Promise.all(streams.map((stream) => strict.dispatch(stream, 0).catch((err) => err)));
      for (const failure of failures) {
        expect(failure).toBeInstanceOf(ReplicasNotConfirmedError);
        // Its one replica usually confirms within the 200 ms, but on a loaded machine it may not have yet.
        expect(String(failure)).toMatch(/only [01] of 2 replicas/);
      }
    } finally {
      await Promise.all([durable.close(), strict.close()]);
    }
  });

  it('spreads the partitions of a partitioned stream over the masters and consumes them all', async () => {
    const partitions = { Orders: 8 };
    const seen = new Set<number>();
    await start([groupHandler('Orders', (data) => void seen.add(data as number))], { partitions });
    const producer = new RedisStreamsClient({
      connection: { cluster: cluster.startupNodes },
      keyPrefix: prefix,
      partitions,
    });
    try {
      await Promise.all(Array.from({ length: 80 }, (_, i) => producer.dispatch('Orders', i)));
      await waitFor(() => seen.size === 80, 'all 80 entries handled');
      const masters = new Set<number>();
      for (let p = 0; p < 8; p++) {
        expect(await admin.xlen(`${prefix}Orders:p${p}`)).toBe(10);
        masters.add(await cluster.masterOf(keySlot(`${prefix}Orders:p${p}`)));
      }
      expect(masters.size).toBeGreaterThan(1);
    } finally {
      await producer.close();
    }
  });

  it('refuses a dead-letter stream outside its stream slot, naming the option', async () => {
    await expect(
      start([groupHandler('Email', () => undefined)], { deadLetterStream: (key) => `dead:${key}` }),
    ).rejects.toThrow(/deadLetterStream.*hash slot/);
  });
});
