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

  it('does not run what a paused consumer was given before its pause once another consumer has claimed it', async () => {
    proxy = new FreezingProxy(fx.redis.port);
    await proxy.start();
    const log = new RunLog();
    const slow = log.wrap(() => sleep(2500));
    await fx.start([groupHandler('Jobs', slow)], { consumer: 'A', connection: proxy.url, heartbeatInterval: 60_000 });
    await sleep(300); // A's blocking read waits at Redis
    proxy.freeze(); // A is paused: Redis delivers into its read, and the reply waits
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await fx.client.dispatch('Jobs', { i }));
    await fx.start([groupHandler('Jobs', slow)], { consumer: 'B' });
    await waitFor(() => log.runs.filter((r) => r.consumer === 'B').length === 5, 'B claimed or read all five');
    proxy.thaw(); // A wakes up with a read reply of entries B runs now
    await waitFor(
      async () => (await pendingCount(fx.admin, fx.key('Jobs'), 'G')) === 0 && log.runs.every((r) => r.end),
      'all acked',
      10_000,
    );
    expect(log.overlaps()).toEqual([]);
    expect(ids.map((id) => log.of(id).map((r) => r.consumer))).toEqual(ids.map(() => ['B']));
  });

  it('never runs one entry twice at once in one consumer when reads are lost while entries are retried', async () => {
    proxy = new FreezingProxy(fx.redis.port, 100);
    await proxy.start();
    const log = new RunLog();
    const behaviour = log.wrap(async () => {
      await sleep(600 + Math.random() * 300);
      if (Math.random() < 0.7) throw new Error('planned failure');
    });
    const service = await fx.start([groupHandler('Jobs', behaviour)], {
      connection: proxy.url,
      retryBackoff: () => 100,
      maxDeliveries: 100,
    });
    for (let i = 0; i < 40; i++) await fx.client.dispatch('Jobs', { i });
    // The reader waits in a blocking read while the failed entries are retried; each kill loses that read.
    let kills = 0;
    for (const until = Date.now() + 9000; Date.now() < until; await sleep(900 + Math.random() * 400)) {
      kills += await killGroupReader(fx.admin, service.server.consumer);
    }
    expect(kills).toBeGreaterThanOrEqual(5);
    expect(log.overlaps(true)).toEqual([]);
  });
});
