import type { Cluster } from 'ioredis';
import { RedisStreamsClient, RedisStreamsRecord } from 'nestjs-redis-streams';
import { keySlot } from '../../../libs/redis-streams/src/cluster/key-slot.js';
import { partitionKey, partitionOf } from '../../../libs/redis-streams/src/partitions/partition-keys.js';
import { leaseHolder, leaseKey, membersKey } from '../../../libs/redis-streams/src/partitions/partition-leases.js';
import { groupHandler, sleep } from '../../support/handlers.js';
import { startService, type TestService } from '../../support/nest-app.js';
import { RedisCluster } from '../../support/redis-cluster.js';
import { randomName, waitFor } from '../../support/redis-server.js';

const PARTITIONS = 3;
/**
 * Shorter than the freeze below, which stays well under the cluster's node timeout (1 s, pinged every half of it): no
 * failover, no CLUSTERDOWN, only one master that answers nothing for longer than a lease.
 */
const LEASE_MS = 300;
const FREEZE_MS = 450;

/**
 * Issue 18, defect 4: the leases of a partitioned stream are renewed each on its own, so a stall of the master that
 * holds the members' set (or any one master) touches only the leases whose keys live there.
 */
describe('partition leases on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let admin: Cluster;
  const services: TestService[] = [];
  let client: RedisStreamsClient | undefined;

  beforeAll(async () => {
    cluster = await RedisCluster.start();
    admin = cluster.client();
  }, 90_000);
  afterAll(async () => {
    await Promise.all(services.map((service) => service.close()));
    await client?.close();
    admin?.disconnect();
    await cluster?.stop();
  });

  it("keeps the leases on healthy masters while the members' master is frozen past the lease time", async () => {
    // A stream whose members' set is on one master and at least two of whose partitions are on others.
    let prefix: string;
    let frozen: number;
    for (;;) {
      prefix = `${randomName()}:`;
      const stream = `${prefix}Orders`;
      frozen = await cluster.masterOf(keySlot(membersKey(stream, 'G')));
      const elsewhere = [];
      for (let p = 0; p < PARTITIONS; p++)
        if ((await cluster.masterOf(keySlot(partitionKey(stream, p)))) !== frozen) elsewhere.push(p);
      if (elsewhere.length >= 2 && elsewhere.length < PARTITIONS) break;
    }
    const stream = `${prefix}Orders`;
    const healthy: number[] = [];
    for (let p = 0; p < PARTITIONS; p++)
      if ((await cluster.masterOf(keySlot(partitionKey(stream, p)))) !== frozen) healthy.push(p);
    const handled: { p: number; n: number; at: number }[] = [];
    const handler = groupHandler('Orders', (data, ctx) => {
      handled.push({ p: ctx.getPartition()!, n: (data as { n: number }).n, at: performance.now() });
    });
    const connection = { cluster: cluster.startupNodes };
    const options = {
      connection,
      keyPrefix: prefix,
      group: 'G',
      partitions: { Orders: PARTITIONS },
      partitionLeaseTime: LEASE_MS,
    };
    services.push(await startService([handler], { ...options, consumer: 'a' }));
    services.push(await startService([handler], { ...options, consumer: 'b' }));
    const generations = async (): Promise<(number | undefined)[]> =>
      Promise.all(
        Array.from(
          { length: PARTITIONS },
          async (_, p) => leaseHolder(await admin.get(leaseKey(partitionKey(stream, p), 'G')))?.generation,
        ),
      );
    await waitFor(async () => (await generations()).every((g) => g !== undefined), 'every partition owned', 10_000);
    await sleep(2 * LEASE_MS); // the shares settled
    const before = await generations();

    client = new RedisStreamsClient({ connection, keyPrefix: prefix, partitions: { Orders: PARTITIONS } });
    const keyOf = (p: number): string => {
      for (let i = 0; ; i++) if (partitionOf(`k${i}`, PARTITIONS) === p) return `k${i}`;
    };
    await client.connect();
    await client.dispatch('Orders', new RedisStreamsRecord({ n: -1 }, {}, { key: keyOf(healthy[0]) }));
    await waitFor(() => handled.some((h) => h.n === -1), 'the client connected and an entry went through');
    cluster.pause(frozen);
    const frozenAt = performance.now();
    // Entries of the healthy partitions emitted while the other master is frozen are handled meanwhile.
    let emitted = 0;
    while (performance.now() - frozenAt < FREEZE_MS - 100) {
      for (const p of healthy)
        await client.dispatch('Orders', new RedisStreamsRecord({ n: emitted }, {}, { key: keyOf(p) }));
      emitted++;
      await sleep(20);
    }
    await sleep(Math.max(0, FREEZE_MS - (performance.now() - frozenAt)));
    const frozenFor = performance.now() - frozenAt;
    cluster.resume(frozen);
    expect(frozenFor).toBeGreaterThan(1.4 * LEASE_MS);
    await cluster.waitUntilHealthy();
    await sleep(LEASE_MS);
    const after = await generations();
    for (const p of healthy) expect(after[p]).toBe(before[p]);
    const duringFreeze = handled.filter((h) => h.at < frozenAt + frozenFor);
    // The healthy partitions kept going: what was emitted to them more than a moment before the thaw was handled.
    for (const p of healthy) expect(duringFreeze.filter((h) => h.p === p).length).toBeGreaterThanOrEqual(emitted / 2);
  }, 90_000);
});
