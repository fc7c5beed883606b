// Issue 18, defect 9 (cluster fault seed 9001): after an XGROUP DESTROY, another process recreated the group at the last
// id it knew delivered, below an entry this consumer was running; this consumer's next `XREADGROUP >` delivered that
// entry again, and it ran a second time at once in the same process.
import { groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('a destroyed group recreated below the entries a consumer holds', () => {
  const fx = useStreamFixture({ group: 'G', block: 200, consumerIdleTimeout: 0, claimInterval: 0 });

  it('does not run a held entry again when another process recreated the group below it', async () => {
    const key = fx.key('Jobs');
    const runs = new Map<number, number>();
    let running = 0;
    let twoAtOnce = 0;
    const runningNow = new Set<number>();
    await fx.start(
      [
        groupHandler('Jobs', async (data) => {
          const { n } = data as { n: number };
          runs.set(n, (runs.get(n) ?? 0) + 1);
          if (runningNow.has(n)) twoAtOnce++;
          runningNow.add(n);
          running++;
          if (n === 2) await sleep(2500);
          running--;
          runningNow.delete(n);
        }),
      ],
      { consumer: 'A', concurrency: 4, minIdleTime: 20_000 },
    );
    const first = await fx.client.dispatch('Jobs', { n: 1 });
    await waitFor(() => runs.get(1) === 1 && running === 0, 'entry 1 handled');
    await fx.client.dispatch('Jobs', { n: 2 });
    await waitFor(() => running === 1, 'entry 2 runs');
    // The other process (which had read only entry 1) recreates the group at once, so this one never sees NOGROUP.
    await fx.admin.multi().xgroup('DESTROY', key, 'G').xgroup('CREATE', key, 'G', first).exec();
    await fx.client.dispatch('Jobs', { n: 3 });
    await waitFor(() => runs.get(3) === 1, 'entry 3 handled');
    await waitFor(async () => running === 0 && (await pendingCount(fx.admin, key, 'G')) === 0, 'entry 2 acked');
    await sleep(500);
    expect({ runs: Object.fromEntries(runs), twoAtOnce }).toEqual({ runs: { 1: 1, 2: 1, 3: 1 }, twoAtOnce: 0 });
  }, 20_000);
});
