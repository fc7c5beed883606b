// The sample apps as deployed: gateway, two email replicas, push and BI as separate processes on one private Redis,
// driven through the gateway's HTTP API. Needs `npm run build` first (the apps run from dist).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { GROUPS, type KeySpace, keys, STREAMS } from '../apps/shared/redis-keys.js';
import { readConsumers, readGroups } from '../apps/shared/stream-info.js';
import type { HealthReport } from '../apps/shared/health.controller.js';
import { allApps, type E2eStack, startStack } from './support/e2e-stack.js';
import { sendMails, sendPushes, sumHash, waitSettled } from './support/e2e-traffic.js';
import { waitFor } from './support/redis-server.js';

const run = promisify(execFile);
const BOTH = [STREAMS.email, STREAMS.push];

interface Counters {
  totals: Record<string, number>;
  perMinute: Record<string, Record<string, number>>;
}

interface Stats {
  consumer: string;
  streams: Record<string, { processed: number; claimed: number }>;
}

describe('sample apps (gateway → email ×2, push, BI)', () => {
  let stack: E2eStack;
  let redis: Redis;
  let prefix: string;
  /** Where the apps' keys are: one Redis, under the stack's prefix. */
  let space: KeySpace;

  beforeAll(async () => {
    // A simulated mail server latency and a small concurrency keep entries in flight, so a kill always catches some;
    // a short claim idle time lets the surviving replica take them over quickly.
    stack = await startStack(allApps(), {
      MAIL_SEND_DELAY_MS: '50',
      CONCURRENCY: '5',
      CLAIM_MIN_IDLE_MS: '1000',
      CLAIM_INTERVAL_MS: '250',
    });
    prefix = stack.keyPrefix;
    space = { prefix, cluster: false };
    const { Redis } = await import('ioredis');
    redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: 3 });
  });

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
  });

  async function sentBy(ids: string[]): Promise<(string | null)[]> {
    return ids.length === 0 ? [] : redis.hmget(keys.sentMail(space), ...ids);
  }

  it('sends each mail exactly once across the email replicas, and both replicas do work', async () => {
    const before = Number(await redis.get(keys.sentMailCount(space)));
    const ids = await sendMails(stack, 300, 'exactly-once');
    await waitSettled(redis, prefix, BOTH);

    expect(new Set(ids).size).toBe(300);
    const senders = await sentBy(ids);
    expect(senders.filter((s) => s === null)).toHaveLength(0);
    expect(Number(await redis.get(keys.sentMailCount(space))) - before).toBe(300);
    expect(new Set(senders).size).toBe(stack.emailReplicas.length);
  });

  it('gives push and BI every entry of both streams, and BI counters equal what was sent', async () => {
    await Promise.all([sendMails(stack, 120, 'fan-out'), sendPushes(stack, 150, 'fan-out')]);
    await waitSettled(redis, prefix, BOTH);

    const counters = (await stack.get<Counters>('bi', '/counters')).body;
    for (const stream of BOTH) {
      const length = await redis.xlen(prefix + stream);
      expect(await sumHash(redis, keys.processed(space, GROUPS.notification, stream))).toBe(length);
      expect(await sumHash(redis, keys.processed(space, GROUPS.bi, stream))).toBe(length);
      expect(counters.totals[stream]).toBe(length);
      expect(Object.values(counters.perMinute[stream]).reduce((a, b) => a + b, 0)).toBe(length);
    }
    expect(await sumHash(redis, keys.processed(space, GROUPS.email, STREAMS.email))).toBe(
      await redis.xlen(prefix + STREAMS.email),
    );
  });

  it('loses nothing when an email replica is killed mid-run: the other replica takes over its pending mails', async () => {
    const before = Number(await redis.get(keys.sentMailCount(space)));
    const [victim, survivor] = stack.emailReplicas;
    const sending = sendMails(stack, 400, 'kill', 24);
    await waitFor(
      async () => Number(await redis.get(keys.sentMailCount(space))) - before >= 80,
      '80 mails of the run sent before the kill',
      30_000,
    );
    const victimConsumer = await stack.kill(victim);
    // Commands the victim wrote just before dying (a batch of acks with their effects) may still sit in its socket:
    // Redis runs them before it notices the close. Snapshot its pending list only once Redis has dropped every
    // connection of the victim, or acked entries would count as abandoned.
    await waitFor(
      async () =>
        !String(await redis.client('LIST'))
          .split('\n')
          .some((line) => line.includes(` name=${victimConsumer}:`)),
      `Redis to drop ${victimConsumer}'s connections`,
      10_000,
    );
    const key = prefix + STREAMS.email;
    const abandoned = (await redis.xpending(key, GROUPS.email, '-', '+', 1000, victimConsumer)) as [string][];
    expect(abandoned.length).toBeGreaterThan(0);

    const ids = await sending;
    // Claimed by the survivor once idle for CLAIM_MIN_IDLE_MS; then the victim comes back with its name and nothing owed.
    await waitFor(
      async () => (await readConsumers(redis, key, GROUPS.email)).find((c) => c.name === victimConsumer)?.pending === 0,
      `${victimConsumer}'s pending mails taken over`,
      30_000,
    );
    await stack.restart(victim);
    await waitSettled(redis, prefix, BOTH);

    const senders = await sentBy(ids);
    expect(senders.filter((s) => s === null)).toHaveLength(0);
    expect(Number(await redis.get(keys.sentMailCount(space))) - before).toBe(400);
    const survivorConsumer = (await stack.get<Stats>(survivor, '/stats')).body.consumer;
    expect(await sentBy(abandoned.map(([id]) => id))).toEqual(abandoned.map(() => survivorConsumer));
    expect(await redis.xlen(keys.deadLetters(space, STREAMS.email))).toBe(0);
  });

  it('processes entries written by redis-cli as plain fields like the gateway ones', async () => {
    const cli = async (...args: string[]) => (await run('redis-cli', ['-u', stack.redisUrl, ...args])).stdout.trim();
    const mailId = await cli(
      'XADD',
      prefix + STREAMS.email,
      '*',
      'to',
      'cli@example.com',
      'subject',
      'from redis-cli',
      'body',
      'plain',
    );
    const pushId = await cli(
      'XADD',
      prefix + STREAMS.push,
      '*',
      'userId',
      '42',
      'title',
      'from redis-cli',
      'body',
      'plain',
    );
    expect(mailId).toMatch(/^\d+-\d+$/);
    await waitSettled(redis, prefix, BOTH);

    const [sender] = await sentBy([mailId]);
    const emailConsumers = (await readConsumers(redis, prefix + STREAMS.email, GROUPS.email)).map((c) => c.name);
    expect(emailConsumers).toContain(sender);
    for (const [stream, id] of [
      [STREAMS.email, mailId],
      [STREAMS.push, pushId],
    ] as const) {
      for (const group of await readGroups(redis, prefix + stream)) {
        expect([group.name, compareIds(group.lastDeliveredId, id) >= 0]).toEqual([group.name, true]);
      }
      const length = await redis.xlen(prefix + stream);
      expect(await sumHash(redis, keys.processed(space, GROUPS.bi, stream))).toBe(length);
      expect(await sumHash(redis, keys.processed(space, GROUPS.notification, stream))).toBe(length);
    }
  });

  it('rejects invalid requests with 400 naming the field, and appends nothing', async () => {
    const lengths = await Promise.all(BOTH.map((stream) => redis.xlen(prefix + stream)));
    const cases: [string, unknown, string][] = [
      ['/emails', { subject: 'no recipient', body: 'x' }, '"to"'],
      ['/emails', { to: 'not-an-address', subject: 's', body: 'x' }, '"to"'],
      ['/emails', { to: 'a@example.com', subject: '   ', body: 'x' }, '"subject"'],
      ['/emails', { to: 'a@example.com', subject: 's', body: 7 }, '"body"'],
      ['/push', { title: 't', body: 'b' }, '"userId"'],
      ['/push', { userId: 'u1', body: 'b' }, '"title"'],
      ['/push', [1, 2], 'JSON object'],
    ];
    for (const [path, body, field] of cases) {
      const reply = await stack.post<{ message: string }>('gateway', path, body);
      expect([path, reply.status]).toEqual([path, 400]);
      expect(reply.body.message).toContain(field);
    }
    expect(await Promise.all(BOTH.map((stream) => redis.xlen(prefix + stream)))).toEqual(lengths);
  });

  it('reports its groups with pending and lag on /health, and what the instance processed on /stats', async () => {
    await sendMails(stack, 20, 'health');
    await waitSettled(redis, prefix, BOTH);

    const health = (await stack.get<HealthReport>('push', '/health')).body;
    expect(health.status).toBe('ok');
    expect(health.redis).toBe('up');
    expect(health.groups.map((g) => [g.stream, g.group, g.present, g.pending, g.lag])).toEqual([
      [STREAMS.push, GROUPS.notification, true, 0, 0],
      [STREAMS.email, GROUPS.notification, true, 0, 0],
    ]);
    for (const replica of stack.emailReplicas) {
      const reply = await stack.get<HealthReport>(replica, '/health');
      expect(reply.status).toBe(200);
      expect(reply.body.groups).toEqual([
        expect.objectContaining({ stream: STREAMS.email, group: GROUPS.email, present: true, pending: 0, lag: 0 }),
      ]);
    }
    const stats = (await stack.get<Stats>('bi', '/stats')).body;
    expect(stats.streams[`${prefix}${STREAMS.email}/${GROUPS.bi}`].processed).toBeGreaterThanOrEqual(20);
    expect(stats.streams[`${prefix}${STREAMS.email}/broadcast`].processed).toBeGreaterThanOrEqual(20);
  });
});

/** Orders stream ids numerically (`ms-seq`). */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}
