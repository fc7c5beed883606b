// Found by the adversarial review of the split reader: held entries during the start-up recovery of own pending entries. Failed on its first version.
import type { RedisStreamsContext } from 'nestjs-redis-streams';
import { groupHandler, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

interface Run {
  who: string;
  id: string;
  start: number;
  end: number;
}

describe('start-up recovery of own pending entries', () => {
  const fx = useStreamFixture({ group: 'G', consumerIdleTimeout: 0 });

  it('keeps the entries it holds fresh while it recovers its own pending entries (no concurrent duplicate)', async () => {
    const key = fx.key('Jobs');
    const runs: Run[] = [];
    const recorder = (who: string, ms: number) =>
      groupHandler('Jobs', async (_data, ctx: RedisStreamsContext) => {
        const run = { who, id: ctx.getId(), start: Date.now(), end: Infinity };
        runs.push(run);
        await sleep(ms);
        run.end = Date.now();
      });
    // A crashed holding 8 entries under its stable name.
    await fx.admin.xgroup('CREATE', key, 'G', '$', 'MKSTREAM');
    for (let n = 0; n < 8; n++) await fx.client.dispatch('Jobs', { n });
    await fx.admin.xreadgroup('GROUP', 'G', 'A', 'COUNT', 8, 'STREAMS', key, '>');
    // B: a live consumer of the group that claims idle entries.
    await fx.start([recorder('B', 50)], { consumer: 'B', minIdleTime: 1000, claimInterval: 100 });
    // A restarts at once and recovers them, a queue's room at a time.
    await fx.start([recorder('A', 700)], {
      consumer: 'A',
      count: 2,
      concurrency: 1,
      minIdleTime: 1000,
      claimInterval: 100,
    });
    await waitFor(async () => Number(((await fx.admin.xpending(key, 'G')) as [number])[0]) === 0, 'all acked', 20_000);
    await sleep(200);
    const overlaps = runs.filter((r) =>
      runs.some((o) => o !== r && o.id === r.id && o.who !== r.who && o.start < r.end && r.start < o.end),
    );
    expect(overlaps).toEqual([]);
  }, 30_000);
});
