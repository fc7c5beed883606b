// What only the containers show: docker-compose.yml deployed from the project's image (npm run test:compose builds it),
// Redis restarted as a container with its append-only file, and a clean `docker compose stop` (what `down` does
// first: SIGTERM to node, graceful shutdown) after which no started entry is left pending and nothing is lost. The e2e suites' own assertions run on the same
// deployment through test/support/compose-stack.ts (a killed email container's mails taken over, among them).
import type { Redis } from 'ioredis';
import { GROUPS, type KeySpace, keys, STREAMS } from '../apps/shared/redis-keys.js';
import { readGroups } from '../apps/shared/stream-info.js';
import type { HealthReport } from '../apps/shared/health.controller.js';
import { ComposeStack } from './support/compose-stack.js';
import { sendMails, sendPushes, waitSettled } from './support/e2e-traffic.js';
import { waitFor } from './support/redis-server.js';

const BOTH = [STREAMS.email, STREAMS.push];
const APPS = ['gateway', 'email', 'push', 'bi'];

describe('the docker compose deployment', () => {
  let stack: ComposeStack;
  let redis: Redis;
  let prefix: string;
  /** Where the apps' keys are: one Redis, under the stack's prefix. */
  let space: KeySpace;

  beforeAll(async () => {
    // A slow mail server (1 s a mail, 5 at a time per replica: 10 mails/s) keeps the run going when the stop comes,
    // however slowly a busy machine starts `docker compose stop`.
    stack = await ComposeStack.start({ MAIL_SEND_DELAY_MS: '1000', CONCURRENCY: '5' });
    prefix = stack.keyPrefix;
    space = { prefix, cluster: false };
    const { Redis } = await import('ioredis');
    redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: 3 });
  });

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
    // `down -v` removed every container of the project.
    if (stack) expect(await stack.containers()).toEqual([]);
  });

  const sentCount = async () => Number(await redis.get(keys.sentMailCount(space)));
  const senders = (ids: string[]) => redis.hmget(keys.sentMail(space), ...ids);
  /** Each group's position and pending count on both streams (`entries-read` is not kept by every Redis restart). */
  const progress = () =>
    Promise.all(
      BOTH.map(async (s) =>
        (await readGroups(redis, prefix + s)).map((g) => [s, g.name, g.lastDeliveredId, g.pending, g.consumers]),
      ),
    );

  it('keeps streams, groups and progress across a Redis container restart (AOF), and the apps carry on', async () => {
    const first = await sendMails(stack, 40, 'before-restart');
    await sendPushes(stack, 20, 'before-restart');
    await waitSettled(redis, prefix, BOTH);
    const before = {
      lengths: await Promise.all(BOTH.map((s) => redis.xlen(prefix + s))),
      groups: await progress(),
      sent: await sentCount(),
    };

    await stack.restartRedis();
    await waitFor(async () => (await redis.ping().catch(() => '')) === 'PONG', 'Redis answers again', 30_000);
    expect(await Promise.all(BOTH.map((s) => redis.xlen(prefix + s)))).toEqual(before.lengths);
    expect(await progress()).toEqual(before.groups);
    expect(await sentCount()).toBe(before.sent);

    // The apps reconnect by themselves: new traffic goes through every group.
    await waitFor(
      async () => (await stack.get<HealthReport>('push', '/health')).body.redis === 'up',
      'push sees Redis',
    );
    const second = await sendMails(stack, 40, 'after-restart');
    await waitSettled(redis, prefix, BOTH);
    expect(await sentCount()).toBe(before.sent + 40);
    expect((await senders([...first, ...second])).filter((s) => s === null)).toEqual([]);
  });

  it('stops cleanly on SIGTERM: started mails finish and are acked, the rest is sent after the restart', async () => {
    const before = await sentCount();
    const ids = await sendMails(stack, 200, 'stop');
    await waitFor(async () => (await sentCount()) - before >= 20, '20 mails of the run sent', 30_000);

    await stack.stopServices(30);
    const stopped = await stack.containers();
    // Each app exited by itself, with status 0, after SIGTERM: not killed when the stop timed out (137).
    const exits = stopped
      .filter((c) => APPS.includes(c.service))
      .map((c) => `${c.service}-${c.index} ${c.status} ${c.exitCode}`);
    expect(exits.sort()).toEqual(['bi-1', 'email-1', 'email-2', 'gateway-1', 'push-1'].map((n) => `${n} exited 0`));

    await stack.startRedis();
    await waitFor(async () => (await redis.ping().catch(() => '')) === 'PONG', 'Redis answers again', 30_000);
    expect((await sentCount()) - before).toBeLessThan(200); // the stop came mid-run: work was left to do…
    // …and every mail whose handler had started was finished and acknowledged: what is still pending was read ahead
    // (prefetched) by a replica but never started, so it was not sent.
    const pending = (await redis.xpending(prefix + STREAMS.email, GROUPS.email, '-', '+', 1000)) as [string][];
    expect((await senders(pending.map(([id]) => id))).filter((s) => s !== null)).toEqual([]);
    for (const group of await readGroups(redis, prefix + STREAMS.push)) {
      expect([group.name, group.pending]).toEqual([group.name, 0]);
    }
    const emailGroup = (await readGroups(redis, prefix + STREAMS.email)).find((g) => g.name === GROUPS.email);
    expect(emailGroup!.lag! + emailGroup!.pending).toBeGreaterThan(0);

    // Up again, the deployment sends the rest: every mail once, none lost, none twice.
    await stack.up();
    await waitSettled(redis, prefix, BOTH, 120_000);
    expect(await sentCount()).toBe(before + 200);
    expect((await senders(ids)).filter((s) => s === null)).toEqual([]);
    expect(await redis.xlen(keys.deadLetters(space, STREAMS.email))).toBe(0);
  });
});
