import type { Redis } from 'ioredis';
import { RedisStreamsClient, ReplicasNotConfirmedError } from 'nestjs-redis-streams';
import { randomName, RedisServer, waitFor } from '../support/redis-server.js';

/** Commands of `name` Redis has run, from INFO commandstats. */
async function calls(redis: Redis, name: string): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
}

describe('replica-acknowledged emits (durability) on a standalone Redis with a replica', () => {
  let master: RedisServer;
  let replica: RedisServer;
  let admin: Redis;
  let replicaAdmin: Redis;
  let prefix: string;
  const clients: RedisStreamsClient[] = [];

  beforeAll(async () => {
    master = await RedisServer.start();
    replica = await RedisServer.start({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    admin = master.client();
    replicaAdmin = replica.client();
    await waitFor(async () => /master_link_status:up/.test(await replicaAdmin.info('replication')), 'replica in sync');
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    admin.disconnect();
    replicaAdmin.disconnect();
    await replica.stop();
    await master.stop();
  });
  beforeEach(() => {
    prefix = `${randomName()}:`;
  });

  const client = (durability?: { replicas: number; timeout: number }) => {
    const created = new RedisStreamsClient({ connection: master.url, keyPrefix: prefix, durability });
    clients.push(created);
    return created;
  };

  it('completes emits once the replica has them, with one WAIT per tick of emits', async () => {
    const durable = client({ replicas: 1, timeout: 5000 });
    await durable.connect();
    const before = await calls(admin, 'wait');
    const ids = await Promise.all(Array.from({ length: 100 }, (_, i) => durable.dispatch('Orders', i)));
    expect(await calls(admin, 'wait')).toBe(before + 1);
    // Every completed emit is already on the replica: no waiting here.
    const onReplica = (await replicaAdmin.xrange(`${prefix}Orders`, '-', '+')).map(([id]) => id);
    expect(onReplica).toEqual(ids);
  });

  it('fails an emit when fewer replicas than asked confirm in time, instead of a silent success', async () => {
    const durable = client({ replicas: 2, timeout: 300 });
    const failure = await durable.dispatch('Orders', 'x').catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ReplicasNotConfirmedError);
    // The replica usually confirms within the 300 ms, but on a loaded machine it may not have yet.
    expect(String(failure)).toMatch(/only [01] of 2 replicas confirmed it within 300 ms/);
    expect(await admin.xlen(`${prefix}Orders`)).toBe(1); // stored on the master all the same: the error says so
  });

  it('fails emits while the replica is paused, and completes them again once it is back', async () => {
    const durable = client({ replicas: 1, timeout: 300 });
    await durable.dispatch('Orders', 'before');
    replica.signal('SIGSTOP');
    try {
      await expect(durable.dispatch('Orders', 'during')).rejects.toBeInstanceOf(ReplicasNotConfirmedError);
    } finally {
      replica.signal('SIGCONT');
    }
    await waitFor(
      () =>
        durable.dispatch('Orders', 'after').then(
          () => true,
          () => false,
        ),
      'emits confirmed again',
    );
  });

  it('refuses a durability without whole replicas and timeout, naming the option', () => {
    expect(() => new RedisStreamsClient({ durability: { replicas: 0, timeout: 100 } })).toThrow(/`durability`/);
  });
});
