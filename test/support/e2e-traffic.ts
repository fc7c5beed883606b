// Traffic and read-outs shared by the e2e suites: requests through the gateway's HTTP API, and Redis-side totals.
import type { Redis } from 'ioredis';
import { readGroups } from '../../apps/shared/stream-info.js';
import type { E2eStack } from './e2e-stack.js';
import { waitFor } from './redis-server.js';

/** Runs `count` jobs with at most `parallel` at once, in order of index. */
export async function inParallel<T>(count: number, parallel: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await job(i);
      }
    }),
  );
  return results;
}

/** POSTs `count` valid mails through the gateway; returns their entry ids. */
export function sendMails(stack: E2eStack, count: number, tag: string, parallel = 16): Promise<string[]> {
  return inParallel(count, parallel, async (i) =>
    accepted(
      await stack.post('gateway', '/emails', { to: `user${i}@example.com`, subject: `${tag} #${i}`, body: 'hello' }),
    ),
  );
}

/** POSTs `count` valid push notifications through the gateway; returns their entry ids. */
export function sendPushes(stack: E2eStack, count: number, tag: string, parallel = 16): Promise<string[]> {
  return inParallel(count, parallel, async (i) =>
    accepted(await stack.post('gateway', '/push', { userId: `u${i}`, title: `${tag} #${i}`, body: 'ping' })),
  );
}

function accepted(reply: { status: number; body: unknown }): string {
  const id = (reply.body as { id?: unknown }).id;
  if (reply.status !== 202 || typeof id !== 'string') {
    throw new Error(`The gateway refused a valid message: ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  return id;
}

/** Waits until every group of every stream has nothing undelivered and nothing pending. */
export async function waitSettled(redis: Redis, prefix: string, streams: string[], timeoutMs = 60_000): Promise<void> {
  await waitFor(
    async () => {
      for (const stream of streams) {
        for (const group of await readGroups(redis, prefix + stream)) {
          if (group.lag !== 0 || group.pending !== 0) return false;
        }
      }
      return true;
    },
    `every group of ${streams.join(', ')} delivered and acknowledged everything`,
    timeoutMs,
  );
}

/** The sum of a hash's integer values (0 for a missing key). */
export async function sumHash(redis: Redis, key: string): Promise<number> {
  const values = await redis.hvals(key);
  return values.reduce((sum, value) => sum + Number(value), 0);
}
