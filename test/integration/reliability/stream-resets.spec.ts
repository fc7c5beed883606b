import { broadcastHandler, groupHandler, pendingCount, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

/** Issue 10, defects 11 and 12: a destroyed group and a stream whose ids went backwards, seen by a running reader. */
describe('groups and streams reset under a running reader', () => {
  const fx = useStreamFixture({ group: 'G', block: 500, consumerIdleTimeout: 0, claimInterval: 0 });

  it('recreates a destroyed group where it was instead of replaying the stream', async () => {
    const key = fx.key('Jobs');
    const counter = `${fx.prefix}count`;
    const handled: string[] = [];
    await fx.start([
      groupHandler('Jobs', (_, ctx) => {
        handled.push(ctx.getId());
        ctx.effects.incrBy(counter, 1);
      }),
    ]);
    const pipeline = fx.admin.pipeline();
    for (let i = 0; i < 500; i++) pipeline.xadd(key, '*', 'data', JSON.stringify({ i }));
    await pipeline.exec();
    await waitFor(
      async () => (await fx.admin.get(counter)) === '500' && (await pendingCount(fx.admin, key, 'G')) === 0,
      '500 handled and acked',
    );
    await fx.admin.xgroup('DESTROY', key, 'G');
    const last = await fx.client.dispatch('Jobs', { i: 500 });
    await waitFor(() => handled.includes(last), 'the entry added after the group was destroyed', 10_000);
    await sleep(1000);
    const runs = handled.length <= 510 ? 'at most 510' : handled.length;
    expect({ runs, counter: await fx.admin.get(counter) }).toEqual({ runs: 'at most 510', counter: '501' });
    const groups = (await fx.admin.xinfo('GROUPS', key)) as unknown[][];
    expect(groups.map((group) => group[1])).toEqual(['G']);
  });

  it('lets a broadcast reader see entries added after the stream came back with lower ids', async () => {
    const key = fx.key('Jobs');
    const seen: string[] = [];
    await fx.start([broadcastHandler('Jobs', (_, ctx) => void seen.push(ctx.getId()))]);
    for (let i = 0; i < 20; i++) await fx.client.dispatch('Jobs', { i });
    await waitFor(() => seen.length === 20, 'entries with high ids');
    // Redis restarted without persistence on a machine whose clock is behind: the stream starts over at low ids.
    await fx.admin.del(key);
    for (let seq = 1; seq <= 5; seq++) await fx.admin.xadd(key, `1-${seq}`, 'data', JSON.stringify({ seq }));
    await waitFor(() => seen.length === 25, 'the entries of the recreated stream', 5000).catch(() => undefined);
    expect(seen.slice(20)).toEqual(['1-1', '1-2', '1-3', '1-4', '1-5']);
  });
});
