import { FreezingProxy } from '../../support/freezing-proxy.js';
import { broadcastHandler, groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { within } from '../../support/bounded.js';
import { killGroupReader } from '../../support/client-kill.js';
import { startService } from '../../support/nest-app.js';
import { waitFor } from '../../support/redis-server.js';
import { RunLog } from '../../support/run-log.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

/**
 * Issue 10, defects 2, 3 and 13: `close()` returns within `shutdownTimeout` + 5 s whatever Redis and the handlers do,
 * and nothing starts once it was called. Services whose close may hang are started outside the fixture, so a hang
 * fails the test instead of the fixture's clean-up.
 */
describe('bounded shutdown', () => {
  const shutdownTimeout = 2000;
  const bound = shutdownTimeout + 5000;
  const fx = useStreamFixture({ group: 'G', shutdownTimeout, consumerIdleTimeout: 0 });
  const never = () => new Promise<never>(() => undefined);

  /** A service that handled a burst and now waits in a blocking read (the read that closing cuts). */
  async function idleAfterBurst(connection = fx.redis.url) {
    const log = new RunLog();
    const service = await startService(
      [
        groupHandler(
          'Jobs',
          log.wrap(() => sleep(50)),
        ),
      ],
      {
        ...fx.base,
        connection,
        concurrency: 5,
        count: 10,
      },
    );
    for (let i = 0; i < 40; i++) fx.client.emit('Jobs', { i });
    await waitFor(
      async () => log.runs.length === 40 && (await pendingCount(fx.admin, fx.key('Jobs'), 'G')) === 0,
      'burst handled',
    );
    await sleep(200);
    return service;
  }

  it('returns while Redis is frozen (SIGSTOP)', async () => {
    const service = await idleAfterBurst();
    fx.redis.pause();
    try {
      expect(await within(bound, service.close())).toBe('settled');
    } finally {
      fx.redis.resume();
    }
  });

  it('returns while Redis refuses connections (the proxy in front of it is gone)', async () => {
    const proxy = new FreezingProxy(fx.redis.port);
    await proxy.start();
    const service = await idleAfterBurst(proxy.url);
    await proxy.stop();
    expect(await within(bound, service.close())).toBe('settled');
  });

  it('returns when the work queue is full and handlers never settle', async () => {
    const pipeline = fx.admin.pipeline();
    await fx.admin.xgroup('CREATE', fx.key('Jobs'), 'G', '$', 'MKSTREAM');
    for (let i = 0; i < 50; i++) pipeline.xadd(fx.key('Jobs'), '*', 'data', JSON.stringify({ i }));
    await pipeline.exec();
    let started = 0;
    const service = await startService([groupHandler('Jobs', () => (started++, never()))], {
      ...fx.base,
      concurrency: 1,
      count: 2,
      startId: '0',
    });
    await waitFor(() => started === 1, 'the one slot taken');
    await sleep(300); // the reader has filled its queue and waits for room
    expect(await within(bound, service.close())).toBe('settled');
  });

  it('returns when a broadcast handler never settles and the queue is full', async () => {
    let started = 0;
    const service = await startService([broadcastHandler('Jobs', () => (started++, never()), 1)], {
      ...fx.base,
      count: 2,
    });
    for (let i = 0; i < 50; i++) fx.client.emit('Jobs', { i });
    await waitFor(() => started === 1, 'the one slot taken');
    await sleep(300);
    expect(await within(bound, service.close())).toBe('settled');
  });

  it('starts no handler once close() was called, even while a lost read is being recovered', async () => {
    const log = new RunLog();
    const attempts = new Map<string, number>();
    const service = await fx.start(
      [
        groupHandler(
          'Jobs',
          log.wrap(async (_, ctx) => {
            const n = (attempts.get(ctx.getId()) ?? 0) + 1;
            attempts.set(ctx.getId(), n);
            await sleep(100);
            if (n === 1 && Math.random() < 0.3) throw new Error('planned failure');
          }),
        ),
      ],
      { concurrency: 5, count: 10, retryBackoff: () => 100, minIdleTime: 1000, claimInterval: 200 },
    );
    for (let i = 0; i < 300; i++) fx.client.emit('Jobs', { i });
    await waitFor(() => log.runs.length >= 40, 'entries flowing and retrying');
    await killGroupReader(fx.admin, service.server.consumer);
    const closeAt = Date.now();
    expect(await within(bound, service.close())).toBe('settled');
    await sleep(500);
    expect(log.runs.filter((run) => run.start >= closeAt)).toEqual([]);
  });
});
