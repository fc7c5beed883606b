import { keySlot } from '../../../libs/redis-streams/src/cluster/key-slot.js';
import { RedisCluster } from '../../support/redis-cluster.js';

describe('the cluster test harness', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await RedisCluster.start();
  }, 60_000);
  afterAll(() => cluster?.stop());

  it('moves a slot with its keys to another master, survives a kill -9 of a master, and brings it back as a replica', async () => {
    const client = cluster.client();
    try {
      const key = `harness-${Math.random().toString(36).slice(2)}`;
      const slot = keySlot(key);
      expect(await client.cluster('KEYSLOT', key)).toBe(slot);
      expect(await client.cluster('KEYSLOT', 'ünï{cödé}')).toBe(keySlot('ünï{cödé}'));
      for (let i = 0; i < 25; i++) await client.xadd(key, '*', 'n', String(i));
      const from = await cluster.masterOf(slot);
      const to = (await cluster.masters()).find((port) => port !== from)!;
      await cluster.moveSlot(slot, to);
      expect(await cluster.masterOf(slot)).toBe(to);
      expect(await client.xlen(key)).toBe(25);

      const replica = await cluster.failoverMasterOf(slot);
      expect(replica).not.toBe(to);
      expect(await client.xlen(key)).toBe(25);
      const promoted = await cluster.killMasterOf(slot);
      expect(promoted).not.toBe(replica);
      expect(await cluster.masters()).toHaveLength(3);
      await client.xadd(key, '*', 'n', 'after');
      expect(await client.xlen(key)).toBe(26);

      // The killed node comes back as the promoted master's replica, with its data (WAIT 1 needs it).
      await cluster.restart(replica);
      expect(await cluster.masterOf(slot)).toBe(promoted);
      expect(await client.xlen(key)).toBe(26);
      await client.xadd(key, '*', 'n', 'replicated');
      expect(
        await client
          .nodes('master')
          .find((node) => node.options.port === promoted)!
          .wait(1, 5000),
      ).toBe(1);
    } finally {
      client.disconnect();
    }
  }, 90_000);
});
