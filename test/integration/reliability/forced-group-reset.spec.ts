// Issue 18, defect 6: `resetGroup(…, { force: true })` moving a group back over entries its consumer still holds. Redis
// delivers such an entry again on `XREADGROUP >` (to the reading consumer, its delivery count reset to 1).
import { StreamHistory } from 'nestjs-redis-streams';
import { groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('a forced group reset over entries the consumer holds', () => {
  const fx = useStreamFixture({ group: 'G', block: 200, consumerIdleTimeout: 0, claimInterval: 0 });

  /** The delivery count of `id` in group G (XPENDING of that one id), 0 when it is not pending. */
  async function deliveries(key: string, id: string): Promise<number> {
    const rows = (await fx.admin.xpending(key, 'G', id, id, 1)) as [string, string, number, number][];
    return rows.length === 0 ? 0 : Number(rows[0][3]);
  }

  it('does not run a running entry a second time, and gives it back its delivery count', async () => {
    const key = fx.key('Jobs');
    let runs = 0;
    let running = 0;
    let mostAtOnce = 0;
    await fx.start(
      [
        groupHandler('Jobs', async () => {
          runs++;
          running++;
          mostAtOnce = Math.max(mostAtOnce, running);
          try {
            if (runs === 1) throw new Error('first run fails');
            await sleep(2500);
          } finally {
            running--;
          }
        }),
      ],
      { consumer: 'A', concurrency: 4, minIdleTime: 20_000, retryBackoff: () => 100 },
    );
    const id = await fx.client.dispatch('Jobs', { n: 1 });
    await waitFor(() => runs === 2 && running === 1, 'the second delivery runs');
    expect(await deliveries(key, id)).toBe(2);
    await new StreamHistory(fx.admin, { keyPrefix: fx.prefix }).resetGroup('Jobs', 'G', '0', { force: true });
    await sleep(800); // reads go on every 200 ms: the reset's re-delivery has reached the reader
    const during = { runs, deliveries: await deliveries(key, id) };
    await waitFor(async () => running === 0 && (await pendingCount(fx.admin, key, 'G')) === 0, 'the run acked');
    await sleep(500);
    expect({ during, runs, mostAtOnce }).toEqual({ during: { runs: 2, deliveries: 2 }, runs: 2, mostAtOnce: 1 });
  }, 20_000);

  it('does not run an entry waiting for its retry before the retry is due', async () => {
    const starts: number[] = [];
    let failedAt = 0;
    await fx.start(
      [
        groupHandler('Jobs', () => {
          starts.push(performance.now());
          if (starts.length === 1) {
            failedAt = performance.now();
            throw new Error('first run fails');
          }
        }),
      ],
      { consumer: 'A', concurrency: 4, minIdleTime: 20_000, retryBackoff: () => 3000 },
    );
    await fx.client.dispatch('Jobs', { n: 1 });
    await waitFor(() => failedAt > 0, 'the first run fails');
    await new StreamHistory(fx.admin, { keyPrefix: fx.prefix }).resetGroup('Jobs', 'G', '0', { force: true });
    await waitFor(() => starts.length >= 2, 'the retry', 6000);
    await waitFor(async () => (await pendingCount(fx.admin, fx.key('Jobs'), 'G')) === 0, 'the retry acked');
    await sleep(500);
    const second = Math.round((starts[1] - failedAt) / 1000);
    expect({ runs: starts.length, secondAfterSeconds: second }).toEqual({ runs: 2, secondAfterSeconds: 3 });
  }, 20_000);
});
