import type { Cluster } from 'ioredis';
import { RedisStreamsClient } from 'nestjs-redis-streams';
import { keySlot } from '../../../libs/redis-streams/src/cluster/key-slot.js';
import { connectOrExplain, createRedis } from '../../../libs/redis-streams/src/redis/connection.js';
import { broadcastHandler, groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { startService, type TestService } from '../../support/nest-app.js';
import { RedisCluster } from '../../support/redis-cluster.js';
import { randomName, waitFor } from '../../support/redis-server.js';

/**
 * Entries flow (a producer emitting every few ms, two consumers of one group and a broadcast reader) while the
 * stream's slot moves to another master, and while that master is killed -9 and its replica takes over.
 */
describe('resharding and failover while entries flow', () => {
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

  /** Two consumers of group G and one broadcast reader on `Orders`; records every value each saw. */
  async function startConsumers(handled: Map<number, number>, broadcast: Set<number>): Promise<void> {
    const controllers = [
      groupHandler('Orders', (data) => void handled.set(data as number, (handled.get(data as number) ?? 0) + 1)),
      broadcastHandler('Orders', (data) => void broadcast.add(data as number)),
    ];
    const options = {
      connection: { cluster: cluster.startupNodes },
      keyPrefix: prefix,
      group: 'G',
      block: 500,
      minIdleTime: 3000,
      claimInterval: 1000,
    };
    for (const consumer of ['a', 'b']) {
      services.push(await startService(controllers, { ...options, consumer }));
    }
  }

  /** Emits 0, 1, 2… every 5 ms until `stop()`; returns the values whose emit completed. */
  function produce(): { stop(): Promise<number[]>; failures: unknown[] } {
    const stored: number[] = [];
    const failures: unknown[] = [];
    let running = true;
    const loop = (async () => {
      for (let i = 0; running; i++) {
        await client.dispatch('Orders', i).then(
          () => stored.push(i),
          (err: unknown) => failures.push(err),
        );
        await sleep(5);
      }
    })();
    return {
      failures,
      stop: async () => {
        running = false;
        await loop;
        return stored;
      },
    };
  }

  async function expectAllHandled(stored: number[], handled: Map<number, number>, broadcast: Set<number>) {
    const key = `${prefix}Orders`;
    await waitFor(() => stored.every((i) => handled.has(i)), 'every stored entry handled by the group', 30_000);
    await waitFor(async () => (await pendingCount(admin, key, 'G')) === 0, 'nothing pending in the group', 30_000);
    await waitFor(() => stored.every((i) => broadcast.has(i)), 'every stored entry broadcast', 30_000);
  }

  it('moves the stream slot to another master (ASK, MOVED, UNBLOCKED) without losing or stranding an entry', async () => {
    const handled = new Map<number, number>();
    const broadcast = new Set<number>();
    await startConsumers(handled, broadcast);
    const producer = produce();
    await waitFor(() => handled.size > 50, 'entries flowing');
    const slot = keySlot(`${prefix}Orders`);
    const from = await cluster.masterOf(slot);
    const to = (await cluster.masters()).find((port) => port !== from)!;
    await cluster.moveSlot(slot, to, () => sleep(50));
    const movedAt = handled.size;
    await waitFor(() => handled.size > movedAt + 50, 'entries flowing after the move', 20_000);
    const stored = await producer.stop();
    expect(producer.failures).toEqual([]);
    await expectAllHandled(stored, handled, broadcast);
  }, 90_000);

  it('resumes by itself after its master is killed -9 and a replica is promoted', async () => {
    const handled = new Map<number, number>();
    const broadcast = new Set<number>();
    await startConsumers(handled, broadcast);
    const producer = produce();
    await waitFor(() => handled.size > 50, 'entries flowing');
    await cluster.killMasterOf(keySlot(`${prefix}Orders`));
    const promotedAt = handled.size;
    await waitFor(() => handled.size > promotedAt + 50, 'entries flowing after the failover', 30_000);
    const stored = await producer.stop();
    // Replication is asynchronous: entries acknowledged by the old master just before the kill may be lost, and emits
    // during the election fail. Every entry stored after the promotion must be handled.
    const after = stored.filter((i) => i > Math.max(...[...handled.keys()].slice(0, promotedAt)));
    await expectAllHandled(after, handled, broadcast);
  }, 90_000);

  it('connects while a master is down, once its replica is promoted (a server or client starting mid-failover)', async () => {
    // A master that still has a replica (the test above leaves one without); any master down stops every slot.
    const pairs = await Promise.all(
      (await cluster.masters()).map(async (port) => ({ master: port, replicas: await cluster.replicasOf(port) })),
    );
    const { master, replicas } = pairs.find((pair) => pair.replicas.length > 0)!;
    const replica = replicas[0];
    cluster.pause(replica); // no promotion while it is frozen: the cluster stays down
    await cluster.kill(master);
    await cluster.waitUntilDown();
    const redis = createRedis({ cluster: cluster.startupNodes }, 'commands');
    try {
      // ioredis finds the cluster down in its first ready check and reconnects by itself; the promise of that first
      // connect() never settles, so a start-up awaiting it alone would hang forever.
      const reconnecting = new Promise((resolve) => redis.once('reconnecting', resolve));
      let connected = false;
      const connecting = connectOrExplain(redis).then(() => (connected = true));
      await reconnecting;
      cluster.resume(replica);
      await waitFor(() => connected, 'the connection to be ready once the replica took over', 30_000);
      await connecting;
      expect(await redis.xadd(`${prefix}Orders`, '*', 'n', '1')).toMatch(/^\d+-\d+$/);
    } finally {
      cluster.resume(replica);
      redis.disconnect();
      await cluster.restart(master);
    }
  }, 90_000);
});
