// Issue 18, defect 9 (cluster fault seed 9001): after an XGROUP DESTROY, another process recreated the group at the last
// id it knew delivered, below an entry this consumer was running; this consumer's next `XREADGROUP >` delivered that
// entry again, and it ran a second time at once in the same process.
import { Logger } from '@nestjs/common';
import { EntryLedger } from '../../../libs/redis-streams/src/server/entry-ledger.js';
import { GroupMaintenance } from '../../../libs/redis-streams/src/server/group-maintenance.js';
import { GroupSources } from '../../../libs/redis-streams/src/server/group-sources.js';
import type { QueuedEntry } from '../../../libs/redis-streams/src/server/subscription.js';
import { WorkQueue } from '../../../libs/redis-streams/src/server/work-queue.js';
import { WriteTracker } from '../../../libs/redis-streams/src/server/write-tracker.js';
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

  it('moves a group another instance recreated lower up to the last id this reader knows delivered', async () => {
    // In the seed's second run, another instance read the entry through `>` from the lower position while the one
    // holding it ran it (delivery 8, then 1 elsewhere): the holder noticed NOGROUP too, but found the group recreated.
    const key = fx.key('Jobs');
    const ids: string[] = [];
    for (let n = 1; n <= 3; n++) ids.push(String(await fx.admin.xadd(key, '*', 'data', JSON.stringify({ n }))));
    await fx.admin.xgroup('CREATE', key, 'G', ids[0]); // the other instance's recreation, at the id it knew
    const base = { commands: fx.admin, keys: [key], group: 'G', consumer: 'A', minIdleTime: 20_000, count: 10 };
    const logger = new Logger('test');
    const writes = new WriteTracker(
      () => undefined,
      () => maintenance.recreateGroups(),
    );
    const ledger = new EntryLedger({
      ...base,
      writes,
      checkEveryAck: false,
      recreateGroup: () => maintenance.recreateGroups(),
      onLost: () => undefined,
    });
    const queue = new WorkQueue<QueuedEntry>(1, 10, (_, done) => done());
    const isClosing = (): boolean => false;
    const sources = new GroupSources({ ...base, ledger, queue, logger, isClosing, delivered: () => undefined });
    const maintenance: GroupMaintenance = new GroupMaintenance({
      ...base,
      startId: '0',
      claimInterval: 0,
      consumerIdleTimeout: 0,
      ledger,
      sources,
      queue,
      logger,
      isClosing,
    });
    maintenance.delivered(key, ids[2]); // this reader was delivered entry 3 (it holds or ran it)
    await maintenance.recreateGroups(); // after its own NOGROUP, the group exists again
    const [group] = (await fx.admin.xinfo('GROUPS', key)) as string[][];
    expect(group[group.indexOf('last-delivered-id') + 1]).toBe(ids[2]);
    const fourth = await fx.admin.xadd(key, '*', 'data', JSON.stringify({ n: 4 }));
    const read = (await fx.admin.xreadgroup('GROUP', 'G', 'B', 'STREAMS', key, '>')) as [string, [string][]][];
    expect(read[0][1].map(([id]) => id)).toEqual([fourth]); // entries 2 and 3 are not delivered again
  });
});
