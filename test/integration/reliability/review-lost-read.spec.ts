// Found by the adversarial review of the split reader: entries delivered into a read lost with its connection. Failed on its first version.
import { groupHandler, sleep } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

describe('lost read', () => {
  const fx = useStreamFixture({ group: 'G', consumerIdleTimeout: 0 });

  it('runs an entry delivered into a lost read before counting it against maxDeliveries', async () => {
    const key = fx.key('Jobs');
    const ran: string[] = [];
    await fx.start(
      [
        groupHandler('Jobs', (_data, ctx) => {
          ran.push(ctx.getId());
        }),
      ],
      { consumer: 'A', maxDeliveries: 1, block: 5000, claimInterval: 0 },
    );
    // Find the reader's connection while it is blocked in XREADGROUP.
    let readerId = '';
    await waitFor(async () => {
      const list = (await fx.admin.client('LIST')) as string;
      const line = list.split('\n').find((l) => l.includes('cmd=xreadgroup') && l.includes('flags=b'));
      readerId = line ? /id=(\d+)/.exec(line)![1] : '';
      return readerId !== '';
    }, 'reader blocked');
    // One pipelined write: Redis serves the blocked read (the entry becomes pending with A) and kills its connection
    // before the reply is flushed, so the reply never reaches A.
    const [[, id]] = (await fx.admin
      .pipeline()
      .xadd(key, '*', 'data', '{"n":1}')
      .client('KILL', 'ID', readerId)
      .exec())! as [unknown, string][];
    const pending = (await fx.admin.xpending(key, 'G', '-', '+', 10)) as [string, string, number, number][];
    expect(pending.map((row) => row[0])).toEqual([id]); // delivered into the lost read
    await sleep(3000);
    const dead = await fx.admin.xlen(`${key}:dead`);
    // maxDeliveries: 1 means "one run"; the entry never ran, so it must run now (and not be dead-lettered unrun).
    expect({ ran, dead }).toEqual({ ran: [id], dead: 0 });
  }, 30_000);
});
