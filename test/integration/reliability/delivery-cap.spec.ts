import { groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

type PendingRow = [string, string, number, number];

/** Issue 10, defect 8: the delivery count a handler sees is the entry's real one, so the cap can't be skipped. */
describe('the delivery cap', () => {
  const fx = useStreamFixture({ group: 'G', consumerIdleTimeout: 0 });

  it("dead-letters an over-delivered entry claimed amid the consumer's own pending ones, and reports true counts", async () => {
    const key = fx.key('Jobs');
    await fx.admin.xgroup('CREATE', key, 'G', '$', 'MKSTREAM');
    const ids: string[] = [];
    for (let i = 0; i < 32; i++) ids.push((await fx.admin.xadd(key, '*', 'data', JSON.stringify({ i })))!);
    await fx.admin.xreadgroup('GROUP', 'G', 'capped', 'COUNT', 32, 'STREAMS', key, '>');
    // The first and the last entry belong to a consumer that died long ago; the last was delivered 10 times already.
    // The 30 in between are `capped`'s own.
    const [first, over] = [ids[0], ids[31]];
    await fx.admin.xclaim(key, 'G', 'gone', 0, first, 'IDLE', 600_000);
    await fx.admin.xclaim(key, 'G', 'gone', 0, over, 'IDLE', 600_000, 'RETRYCOUNT', 10);
    const [[, , , before]] = (await fx.admin.xpending(key, 'G', over, over, 1)) as PendingRow[];
    expect(before).toBe(10);

    const seen = new Map<string, number>();
    const mismatches: string[] = [];
    await fx.start(
      [
        groupHandler('Jobs', async (_, ctx) => {
          const id = ctx.getId();
          seen.set(id, ctx.getDeliveryCount());
          const [row] = (await fx.admin.xpending(key, 'G', id, id, 1)) as PendingRow[];
          if (row?.[3] !== ctx.getDeliveryCount())
            mismatches.push(`${id}: ctx ${ctx.getDeliveryCount()}, XPENDING ${row?.[3]}`);
          await sleep(700); // still held when the dead consumer's entries are claimed
        }),
      ],
      { consumer: 'capped', maxDeliveries: 5, minIdleTime: 1000, claimInterval: 200 },
    );
    await waitFor(
      async () => (await pendingCount(fx.admin, key, 'G')) === 0,
      'every pending entry handled or dead-lettered',
    ).catch(() => undefined); // the assertions below say what went wrong
    const dead = await fx.admin.xrange(`${key}:dead`, '-', '+');
    expect({ ranOverDelivered: seen.get(over), deadLettered: dead.map(([, fields]) => fields[3]) }).toEqual({
      ranOverDelivered: undefined,
      deadLettered: [over],
    });
    expect(mismatches).toEqual([]);
    expect(seen.size).toBe(31);
  });
});
