import type { Cluster } from 'ioredis';
import { RedisStreamsClient, ReplicasNotConfirmedError } from 'nestjs-redis-streams';
import { keySlot } from '../../../libs/redis-streams/src/cluster/key-slot.js';
import { RedisCluster } from '../../support/redis-cluster.js';
import { randomName, waitFor } from '../../support/redis-server.js';

/** WAITs the node on `port` has run (INFO commandstats). */
async function waitsOn(cluster: RedisCluster, port: number): Promise<number> {
  const info = String(await cluster.call(port, 'INFO', 'commandstats'));
  return Number(/cmdstat_wait:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

/** What a durable emit came to: its id, or the error it failed with. */
function settle(emit: Promise<string>): Promise<{ id: string } | { error: unknown }> {
  return emit.then(
    (id) => ({ id }),
    (error: unknown) => ({ error }),
  );
}

describe('durable emits on a Redis Cluster whose topology changes', () => {
  let cluster: RedisCluster;
  let admin: Cluster;
  let prefix: string;
  const clients: RedisStreamsClient[] = [];

  beforeAll(async () => {
    cluster = await RedisCluster.start();
    admin = cluster.client();
    await cluster.waitUntilReplicated();
  }, 60_000);
  afterAll(async () => {
    admin?.disconnect();
    await cluster?.stop();
  });
  beforeEach(() => {
    prefix = `${randomName()}:`;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  const durableClient = (timeout: number) => {
    const client = new RedisStreamsClient({
      connection: { cluster: cluster.startupNodes },
      keyPrefix: prefix,
      durability: { replicas: 1, timeout },
    });
    clients.push(client);
    return client;
  };

  it('asks the node that stored an entry during a slot migration (ASK) for its replicas, not the source', async () => {
    const key = `${prefix}Orders`;
    const slot = keySlot(key);
    const source = await cluster.masterOf(slot);
    const target = (await cluster.masters()).find((port) => port !== source)!;
    const client = durableClient(500);
    await client.dispatch('Orders', 'before'); // the stream exists on the source, confirmed by its replica
    // The target's replica is frozen: nothing written on the target can be confirmed.
    const [targetReplica] = await cluster.replicasOf(target);
    cluster.pause(targetReplica);
    try {
      let during: { id: string } | { error: unknown } | undefined;
      let waitsOnSource = 0;
      let waitsOnTarget = 0;
      // Runs once the key has moved and the slot still migrates: the source answers ASK, the target stores it.
      await cluster.moveSlot(slot, target, async () => {
        if (during) return;
        waitsOnSource = await waitsOn(cluster, source);
        waitsOnTarget = await waitsOn(cluster, target);
        during = await settle(client.dispatch('Orders', 'during'));
        waitsOnSource = (await waitsOn(cluster, source)) - waitsOnSource;
        waitsOnTarget = (await waitsOn(cluster, target)) - waitsOnTarget;
      });
      expect(during).toEqual({ error: expect.any(ReplicasNotConfirmedError) });
      const { id } = (during as { error: ReplicasNotConfirmedError }).error;
      expect({ waitsOnSource, waitsOnTarget }).toEqual({ waitsOnSource: 0, waitsOnTarget: 1 });
      // After the move the client's slot map is stale: its XADD on the source is MOVED, and WAIT follows it.
      const after = await settle(client.dispatch('Orders', 'after'));
      expect(after).toEqual({ error: expect.any(ReplicasNotConfirmedError) });
      const ids = (await admin.xrange(key, '-', '+')).map(([entryId]) => entryId);
      expect(ids).toHaveLength(3);
      expect(ids).toContain(id);
    } finally {
      cluster.resume(targetReplica);
    }
    await cluster.waitUntilReplicated();
    await waitFor(
      () =>
        client.dispatch('Orders', 'thawed').then(
          () => true,
          () => false,
        ),
      'emits confirmed again once the replica is back',
      20_000,
    );
  });

  it('resolves emits across a failover that loses writes only once the new master has them replicated', async () => {
    const key = `${prefix}Payments`;
    const slot = keySlot(key);
    const client = durableClient(1000);
    await client.dispatch('Payments', 0);
    const outcomes: Promise<{ id: string } | { error: unknown }>[] = [];
    let emitting = true;
    const producer = (async () => {
      for (let i = 1; emitting; i++) {
        outcomes.push(settle(client.dispatch('Payments', i)));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const oldMaster = await cluster.masterOf(slot);
    // The replica misses the last 300 ms of writes, then takes over: those writes are gone.
    await cluster.killMasterOf(slot, { replicaLagMs: 300 });
    // The old master comes back as the new master's replica: from then on emits can be confirmed again.
    await cluster.restart(oldMaster);
    await cluster.waitUntilReplicated();
    const resolvedBefore = async () => (await Promise.all(outcomes)).filter((o) => 'id' in o).length;
    const confirmedAtRestart = await resolvedBefore();
    await waitFor(
      async () => (await resolvedBefore()) > confirmedAtRestart,
      'emits confirmed on the new master',
      20_000,
    );
    emitting = false;
    await producer;
    const settled = await Promise.all(outcomes);
    const stored = new Set((await admin.xrange(key, '-', '+')).map(([id]) => id));
    const resolved = settled.flatMap((o) => ('id' in o ? [o.id] : []));
    expect(resolved.filter((id) => !stored.has(id))).toEqual([]);
    // An emit fails only when it may be stored unconfirmed (its WAIT or its XADD's answer lost with the old master),
    // or the cluster found no master in time; one the failover kept from running is sent to the new master.
    const failures = settled.flatMap((o) => ('error' in o ? [o.error as Error] : []));
    expect(failures.length).toBeGreaterThan(0); // the writes the failover lost were never confirmed
    const unexpected = failures.filter(
      (err) =>
        !(err instanceof ReplicasNotConfirmedError) &&
        err.name !== 'EmitNotRoutedError' &&
        err.message !== 'Connection is closed.',
    );
    expect(unexpected.map((err) => err.message)).toEqual([]);
  }, 90_000);

  it('fails an emit as unconfirmed when its node connection closes while its WAIT is blocked', async () => {
    const key = `${prefix}Refunds`;
    const slot = keySlot(key);
    const master = await cluster.masterOf(slot);
    const client = durableClient(5000);
    await client.dispatch('Refunds', 'before');
    const [replica] = await cluster.replicasOf(master);
    cluster.pause(replica);
    try {
      const outcome = settle(client.dispatch('Refunds', 'during'));
      let waiting: string | undefined;
      await waitFor(async () => {
        waiting = /\bid=(\d+) .*\bcmd=wait\b/.exec(String(await cluster.call(master, 'CLIENT', 'LIST')))?.[1];
        return waiting !== undefined;
      }, 'the WAIT is blocked on the master');
      const t0 = Date.now();
      await cluster.call(master, 'CLIENT', 'KILL', 'ID', waiting!);
      const settled = await outcome;
      expect(Date.now() - t0).toBeLessThan(4000); // failed by the close, not by WAIT's timeout
      expect(settled).toEqual({ error: expect.any(ReplicasNotConfirmedError) });
      expect(String((settled as { error: unknown }).error)).toMatch(/whether 1 replicas have it is unknown/);
    } finally {
      cluster.resume(replica);
    }
  });
});
