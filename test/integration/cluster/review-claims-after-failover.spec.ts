// Found by the adversarial review of the claim hold-off: it started on the shared connection's 'ready', which an ioredis
// Cluster does not emit when one master fails over (only that node's connection ends). A replica promoted without
// the last refreshes of entries a live consumer runs showed them idle, and another consumer claimed them at once.
import type { Cluster } from 'ioredis';
import { RedisStreamsClient } from 'nestjs-redis-streams';
import { keySlot } from '../../../libs/redis-streams/src/cluster/key-slot.js';
import { groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { startService, type TestService } from '../../support/nest-app.js';
import { RedisCluster } from '../../support/redis-cluster.js';
import { randomName, waitFor } from '../../support/redis-server.js';
import { RunLog } from '../../support/run-log.js';

describe('claims after a failover on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let admin: Cluster;
  let services: TestService[] = [];
  let client: RedisStreamsClient;
  let prefix: string;

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
    client = new RedisStreamsClient({ connection: { cluster: cluster.startupNodes }, keyPrefix: prefix });
    await client.connect();
  });
  afterEach(async () => {
    await Promise.all(services.map((s) => s.close()));
    services = [];
    await client.close();
  });

  it('claims nothing a live consumer runs when the promoted replica missed its refreshes', async () => {
    const key = `${prefix}Jobs`;
    const slot = keySlot(key);
    const log = new RunLog();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const controllers = [
      groupHandler(
        'Jobs',
        log.wrap(() => released),
      ),
    ]; // A's runs last until released
    const options = {
      connection: { cluster: cluster.startupNodes },
      keyPrefix: prefix,
      group: 'G',
      minIdleTime: 16_000, // refreshed every 4 s: an election (about 2 s here) fits between two refreshes
      consumerIdleTimeout: 0,
    };
    services.push(await startService(controllers, { ...options, consumer: 'A', claimInterval: 0 }));
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await client.dispatch('Jobs', { i }));
    await waitFor(() => log.runs.length === 4, 'A runs all four');
    services.push(await startService(controllers, { ...options, consumer: 'B', claimInterval: 50 }));
    // The replica keeps the entries as just delivered to A; A's refreshes reach the master alone from now on.
    const replica = await cluster.replicaOf(slot);
    await cluster.waitForReplication(slot);
    cluster.signal(replica, 'SIGSTOP');
    await cluster.cutReplicationOf(slot);
    await sleep(17_000);
    // Right after one of A's refreshes, so that its next one comes after the election.
    const idle = async (): Promise<number> =>
      ((await admin.xpending(key, 'G', '-', '+', 1)) as [[string, string, number]])[0][2];
    await waitFor(async () => (await idle()) < 300, "one of A's refreshes");
    await cluster.killMasterOf(slot, { afterKill: () => cluster.signal(replica, 'SIGCONT') });
    // Promoted with idle times past minIdleTime: B must give A time to refresh them on the new master first.
    await sleep(6000);
    release();
    await waitFor(
      async () => log.runs.every((r) => r.end) && (await pendingCount(admin, key, 'G')) === 0,
      'all acked, no run left',
      30_000,
    );
    expect(log.overlaps()).toEqual([]);
    expect(ids.map((id) => log.counts().get(id))).toEqual(ids.map(() => 1));
  }, 90_000);
});
