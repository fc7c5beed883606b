import { FreezingProxy } from '../../support/freezing-proxy.js';
import { killGroupReader } from '../../support/client-kill.js';
import { groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { RunLog } from '../../support/run-log.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

/** Issue 10, defects 6 and 7: a retry or a lost read never takes an entry from its live owner, nor runs it twice. */
describe('ownership of held entries', () => {
  const fx = useStreamFixture({ group: 'G', minIdleTime: 1000, claimInterval: 200, consumerIdleTimeout: 0 });
  let proxy: FreezingProxy | undefined;
  afterEach(async () => {
    proxy?.thaw();
    await fx.closeServices();
    await proxy?.stop();
    proxy = undefined;
  });

  it("does not let a resumed consumer's overdue retry take entries another consumer is running", async () => {
    proxy = new FreezingProxy(fx.redis.port);
    await proxy.start();
    const frozen = proxy;
    const log = new RunLog();
    let failedByA = 0;
    const behaviour = log.wrap((_, ctx) => {
      if (ctx.getConsumer() !== 'A') return sleep(4000);
      // A fails every entry; after the tenth it is cut off from Redis (paused) with all ten retries scheduled.
      if (++failedByA === 10) frozen.freeze();
      throw new Error('A fails');
    });
    await fx.start([groupHandler('Jobs', behaviour)], {
      consumer: 'A',
      connection: proxy.url,
      retryBackoff: () => 300,
      maxDeliveries: 20,
      heartbeatInterval: 60_000,
    });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await fx.client.dispatch('Jobs', { i }));
    await waitFor(() => failedByA >= 10, 'A failed every entry once');
    await fx.start([groupHandler('Jobs', behaviour)], { consumer: 'B' });
    await waitFor(() => log.runs.filter((r) => r.consumer === 'B').length >= 10, 'B claimed and runs every entry');
    await sleep(1500); // B's runs go on, refreshed by B
    proxy.thaw(); // A resumes with its retries overdue
    await waitFor(
      async () => (await pendingCount(fx.admin, fx.key('Jobs'), 'G')) === 0 && log.runs.every((r) => r.end),
      'all acked',
      10_000,
    ).catch(() => undefined); // the assertions below say what went wrong
    expect(log.overlaps()).toEqual([]);
    // Per entry: A's failed runs, then B's one run, and nothing after it.
    const order = ids.map((id) =>
      log
        .of(id)
        .map((r) => r.consumer)
        .join('')
        .replace(/^A+/, 'A…'),
    );
    expect(order).toEqual(ids.map(() => 'A…B'));
  });

  it('never runs one entry twice at once in one consumer while its reads are lost amid retries and claims', async () => {
    proxy = new FreezingProxy(fx.redis.port, 100);
    await proxy.start();
    const log = new RunLog();
    const behaviour = log.wrap(async () => {
      await sleep(100 + Math.random() * 200);
      if (Math.random() < 0.5) throw new Error('planned failure');
    });
    const options = { connection: proxy.url, retryBackoff: () => 100, maxDeliveries: 100, count: 10, concurrency: 10 };
    await fx.start([groupHandler('Jobs', behaviour)], { ...options, consumer: 'A' });
    await fx.start([groupHandler('Jobs', behaviour)], { ...options, consumer: 'B' });
    for (let i = 0; i < 300; i++) fx.client.emit('Jobs', { i });
    let kills = 0;
    for (const until = Date.now() + 8000; Date.now() < until; await sleep(100 + Math.random() * 200)) {
      kills += await killGroupReader(fx.admin, 'A');
      kills += await killGroupReader(fx.admin, 'B');
    }
    expect(kills).toBeGreaterThan(20);
    expect(log.overlaps(true)).toEqual([]);
  });
});
