// Found by the adversarial review of the split reader: the new scripts call XRANGE, which the documented least-privilege ACL
// (docs/security.md, test/support/acl.ts) does not allow. Failed on its first version.
import type { Redis } from 'ioredis';
import { APP_COMMANDS } from '../../support/acl.js';
import { groupHandler, sleep } from '../../support/handlers.js';
import { randomName, RedisServer, waitFor } from '../../support/redis-server.js';
import { startService, type TestService } from '../../support/nest-app.js';

describe('least-privilege ACL', () => {
  let redis: RedisServer;
  let admin: Redis;
  const services: TestService[] = [];
  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = redis.client();
  });
  afterAll(async () => {
    await Promise.all(services.map((s) => s.close()));
    admin.disconnect();
    await redis.stop();
  });

  it('keeps a slow handler fresh under the documented ACL (no concurrent duplicate, no denied command)', async () => {
    const prefix = `${randomName()}:`;
    const rules = ['reset', 'on', '>pw', `~${prefix}*`, 'resetchannels', '-@all', ...APP_COMMANDS.map((c) => `+${c}`)];
    await admin.call('ACL', 'SETUSER', 'app', ...rules);
    await admin.call('ACL', 'LOG', 'RESET');
    const runs: { who: string; start: number; end: number }[] = [];
    const slow = (who: string) =>
      groupHandler('Jobs', async () => {
        const run = { who, start: Date.now(), end: Infinity };
        runs.push(run);
        await sleep(3000);
        run.end = Date.now();
      });
    const options = {
      connection: `redis://app:pw@127.0.0.1:${redis.port}`,
      keyPrefix: prefix,
      group: 'G',
      minIdleTime: 1000,
      claimInterval: 100,
      consumerIdleTimeout: 0,
    };
    services.push(await startService([slow('A')], { ...options, consumer: 'A' }));
    services.push(await startService([slow('B')], { ...options, consumer: 'B', count: 1, concurrency: 1 }));
    await admin.xadd(`${prefix}Jobs`, '*', 'data', '{"n":1}');
    await waitFor(() => runs.length >= 1 && runs.every((r) => r.end !== Infinity), 'the run(s) finished', 15_000);
    await sleep(500);
    const log = (await admin.call('ACL', 'LOG')) as unknown[][];
    const denied = log.map(
      (row) => `${String(row[row.indexOf('reason') + 1])}:${String(row[row.indexOf('object') + 1])}`,
    );
    expect({ runs: runs.length, denied: [...new Set(denied)] }).toEqual({ runs: 1, denied: [] });
  }, 30_000);
});
