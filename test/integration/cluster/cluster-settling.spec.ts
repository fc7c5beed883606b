// Issue 18, defect 10: a cluster whose topology is changing answers for a few seconds with CLUSTERDOWN, redirections
// that don't converge, or closed connections to a dead master. listen() and the client's connect() wait that out.
import { ClusterNotSettledError, RedisStreamsClient } from 'nestjs-redis-streams';
import { keySlot } from '../../../libs/redis-streams/src/cluster/key-slot.js';
import { groupHandler } from '../../support/handlers.js';
import { startService, type TestService } from '../../support/nest-app.js';
import { RedisCluster } from '../../support/redis-cluster.js';
import { randomName, waitFor } from '../../support/redis-server.js';

describe('starting on a Redis Cluster that is settling', () => {
  let cluster: RedisCluster;
  let services: TestService[] = [];
  let clients: RedisStreamsClient[] = [];

  beforeAll(async () => {
    cluster = await RedisCluster.start();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    await Promise.all(services.map((s) => s.close()));
    await Promise.all(clients.map((c) => c.close()));
    services = [];
    clients = [];
  });

  it('listens while the master of its streams is failed over, and then handles entries', async () => {
    const prefix = `${randomName()}:`;
    const connection = { cluster: cluster.startupNodes };
    const handled: unknown[] = [];
    let starting: Promise<TestService | Error> | undefined;
    let connecting: Promise<unknown> | undefined;
    const client = new RedisStreamsClient({ connection, keyPrefix: prefix });
    clients.push(client);
    // The master dies; until its replica is promoted (about 2 s), its slots answer nothing and the others CLUSTERDOWN.
    await cluster.killMasterOf(keySlot(`${prefix}Jobs`), {
      afterKill: () => {
        const controllers = [groupHandler('Jobs', (data) => void handled.push(data))];
        const options = { connection, keyPrefix: prefix, group: 'G', consumer: 'A', partitions: { Parts: 3 } };
        const parts = groupHandler('Parts', () => undefined);
        starting = startService([...controllers, parts], options).catch((err: Error) => err);
        connecting = client.connect().catch((err: Error) => err);
      },
    });
    const service = await within(starting!, 40_000, 'listen()');
    if (service instanceof Error) throw service;
    services.push(service);
    expect(await within(connecting!, 10_000, 'connect()')).not.toBeInstanceOf(Error);
    await client.dispatch('Jobs', { n: 1 });
    await waitFor(() => handled.length === 1, 'the entry handled');
    expect(handled).toEqual([{ n: 1 }]);
  }, 60_000);

  it('fails after settleTimeout, naming what it waited for, while a slot has no master', async () => {
    // A stream on a master that still has a replica (the test above killed one).
    let prefix: string, master: number, replica: number | undefined;
    do {
      prefix = `${randomName()}:`;
      master = await cluster.masterOf(keySlot(`${prefix}Jobs`));
      [replica] = await cluster.replicasOf(master);
    } while (replica === undefined);
    // The replica frozen, the dead master is never replaced: the cluster stays down until the replica is thawed.
    cluster.pause(replica);
    await cluster.kill(master);
    await cluster.waitUntilDown();
    const connection = { cluster: cluster.startupNodes, settleTimeout: 3000 };
    const began = performance.now();
    const failed = await startService([groupHandler('Jobs', () => undefined)], {
      connection,
      keyPrefix: prefix,
      group: 'G',
    }).catch((err: unknown) => err);
    const seconds = Math.round((performance.now() - began) / 1000);
    cluster.resume(replica);
    await cluster.waitUntilHealthy();
    expect(failed).toBeInstanceOf(ClusterNotSettledError);
    expect((failed as Error).message).toMatch(/did not settle within 3000 ms while .*connection\.settleTimeout/);
    expect(seconds).toBeGreaterThanOrEqual(3);
    expect(seconds).toBeLessThan(10);
  }, 60_000);
});

/** `promise`, or a failure naming `what` once it has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
