// Found by the cluster variant of the fault-schedule suite (seeds 7 and 1): an ack-with-effects script held up in the
// client after a failover reached Redis after this same consumer's claim had taken the entry back for another run, and
// applied the overtaken run's effects. The script now also refuses a run whose delivery count has been passed.
import type { Redis } from 'ioredis';
import { ackWithEffects } from '../../../libs/redis-streams/src/redis/stream-commands.js';
import { RedisServer } from '../../support/redis-server.js';

describe('ack with effects and delivery counts', () => {
  let redis: RedisServer;
  let admin: Redis;
  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = redis.client();
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
  });

  const effect = { command: 'incrby', key: 'applied', args: ['1'] };

  it("refuses a run's effects once the entry was delivered again, and applies the later run's", async () => {
    await admin.xgroup('CREATE', 'jobs', 'G', '$', 'MKSTREAM');
    const id = (await admin.xadd('jobs', '*', 'data', '{}'))!;
    await admin.xreadgroup('GROUP', 'G', 'A', 'STREAMS', 'jobs', '>'); // run 1: delivery 1
    await admin.xclaim('jobs', 'G', 'A', 0, id); // A's own claim, for run 2: delivery 2
    expect(await ackWithEffects(admin, 'jobs', 'G', 'A', id, 1, [effect])).toBe('not-owned');
    expect(await admin.get('applied')).toBeNull();
    expect(await ackWithEffects(admin, 'jobs', 'G', 'A', id, 2, [effect])).toBe('applied');
    expect(await admin.get('applied')).toBe('1');
    expect(await ackWithEffects(admin, 'jobs', 'G', 'A', id, 2, [effect])).toBe('not-pending');
  });

  it('applies them when the count went down since (an outage reset, a recreated group)', async () => {
    await admin.xgroup('CREATE', 'jobs2', 'G', '$', 'MKSTREAM');
    const id = (await admin.xadd('jobs2', '*', 'data', '{}'))!;
    await admin.xreadgroup('GROUP', 'G', 'A', 'STREAMS', 'jobs2', '>');
    await admin.xclaim('jobs2', 'G', 'A', 0, id, 'RETRYCOUNT', 0);
    expect(await ackWithEffects(admin, 'jobs2', 'G', 'A', id, 3, [{ ...effect, key: 'applied2' }])).toBe('applied');
  });
});
