// Found by the adversarial review of the claim hold-off: it started at 'ready', but ioredis emits 'ready' before it
// sends the commands queued while the connection was down. A claim started during the outage went out first thing
// after the restart, where the entries a live consumer runs looked idle since the last snapshot, and took them.
import { groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { RunLog } from '../../support/run-log.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('claims started while Redis is down', () => {
  // Refreshed every second: an outage of 300 ms right after one holds no refresh of A's, only B's claims.
  const fx = useStreamFixture({ group: 'G', minIdleTime: 4000, claimInterval: 200, consumerIdleTimeout: 0 });

  it('does not send them to the restarted Redis before the live consumer refreshed its entries', async () => {
    const key = fx.key('Jobs');
    const log = new RunLog();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const controllers = [
      groupHandler(
        'Jobs',
        log.wrap(() => released),
      ),
    ]; // A's runs last until released
    await fx.start(controllers, { consumer: 'A' });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await fx.client.dispatch('Jobs', { i }));
    await waitFor(() => log.runs.length === 4, 'A runs all four');
    await fx.admin.save(); // what Redis restarts from: the entries as just delivered to A
    await fx.start(controllers, { consumer: 'B', claimInterval: 20 });
    await sleep(4500); // in the snapshot, they are idle past minIdleTime by now
    const idle = async (): Promise<number> =>
      ((await fx.admin.xpending(key, 'G', '-', '+', 1)) as [[string, string, number]])[0][2];
    await waitFor(async () => (await idle()) < 150, "one of A's refreshes");
    await fx.redis.kill('SIGKILL');
    await sleep(300); // B starts claims meanwhile
    await fx.redis.restart();
    fx.reconnectAdmin();
    await sleep(5000); // past minIdleTime after the restart: A has refreshed them by now
    release();
    await waitFor(
      async () => log.runs.every((r) => r.end) && (await pendingCount(fx.admin, key, 'G')) === 0,
      'all acked, no run left',
      15_000,
    );
    expect(log.overlaps()).toEqual([]);
    expect(ids.map((id) => log.counts().get(id))).toEqual(ids.map(() => 1));
  }, 40_000);
});
