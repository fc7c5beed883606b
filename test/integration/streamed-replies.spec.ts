import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { concat, delay, NEVER, type Observable, of } from 'rxjs';
import { JsonEntryDeserializer, JsonEntrySerializer } from 'nestjs-redis-streams';
import { useStreamFixture } from '../support/stream-fixture.js';
import { waitFor } from '../support/redis-server.js';

/** What the caller of a streamed request saw. */
interface Seen {
  values: unknown[];
  error?: unknown;
  completed: boolean;
}

describe('streamed replies of a request run again by another server', () => {
  const fx = useStreamFixture({ group: 'counters', minIdleTime: 300, claimInterval: 100, shutdownTimeout: 200 });

  /** Counts 1…upTo; its first run stops after `firstRunValues` values and never ends, as a server that dies. */
  function counter(runs: { count: number }, firstRunValues: number) {
    @Controller()
    class Counter {
      @MessagePattern('count')
      count(@Payload() upTo: number): Observable<number> {
        const run = ++runs.count;
        const values = Array.from({ length: upTo }, (_, i) => i + 1);
        if (run === 1) return concat(of(...values.slice(0, firstRunValues)), NEVER);
        return of(...values).pipe(delay(10));
      }
    }
    return Counter;
  }

  /** Sends `count(upTo)` and records what comes back. */
  function send(upTo: number): Seen {
    const seen: Seen = { values: [], completed: false };
    fx.client.send<number>('count', upTo).subscribe({
      next: (value) => seen.values.push(value),
      error: (error: unknown) => (seen.error = error),
      complete: () => (seen.completed = true),
    });
    return seen;
  }

  it('passes on each value once when a second server re-runs the request from the start', async () => {
    const runs = { count: 0 };
    const first = await fx.start([counter(runs, 2)], { consumer: 'first' });
    const seen = send(3);
    await waitFor(() => seen.values.length === 2, 'the first run sent two values');
    await first.close(); // its handler still runs: the request stays pending, for another server to claim
    await fx.start([counter(runs, 2)], { consumer: 'second' });
    await waitFor(() => seen.completed || seen.error !== undefined, 'the request ended', 15_000);
    expect(runs.count).toBe(2);
    expect(seen).toEqual({ values: [1, 2, 3], completed: true });
  });

  it('fails the request when the re-run ends before the values already passed on', async () => {
    const runs = { count: 0 };
    const first = await fx.start([counter(runs, 3)], { consumer: 'first' });
    const seen = send(3);
    await waitFor(() => seen.values.length === 3, 'the first run sent three values');
    await first.close();
    // The second server counts only to 2 this time (a handler whose result changed in between).
    @Controller()
    class ShorterCounter {
      @MessagePattern('count')
      count(): Observable<number> {
        runs.count++;
        return of(1, 2);
      }
    }
    await fx.start([ShorterCounter], { consumer: 'second' });
    await waitFor(() => seen.completed || seen.error !== undefined, 'the request ended', 15_000);
    expect(runs.count).toBe(2);
    expect(seen.values).toEqual([1, 2, 3]);
    expect(seen.completed).toBe(false);
    expect(String(seen.error)).toMatch(/re-run of the request ended after 2 replies, but 3 were already passed on/);
  });

  it('passes on replies without sequence numbers (older servers) as they come', async () => {
    // An older server, by hand: it reads the request and answers with `x-reply` but no `x-reply-seq`.
    const key = fx.key('count');
    await fx.admin.xgroup('CREATE', key, 'counters', '$', 'MKSTREAM');
    const seen = send(3);
    let request: [string, string[]] | undefined;
    await waitFor(async () => {
      const read = (await fx.admin.xreadgroup('GROUP', 'counters', 'old', 'COUNT', 1, 'STREAMS', key, '>')) as
        [string, [string, string[]][]][] | null;
      request = read?.[0][1][0];
      return request !== undefined;
    }, 'the request is read');
    const { headers } = new JsonEntryDeserializer().deserialize(request![1]);
    const reply = (value: unknown, kind: string) =>
      new JsonEntrySerializer().serialize(value, { 'x-correlation-id': headers['x-correlation-id'], 'x-reply': kind });
    for (const value of [1, 2, 1]) await fx.admin.xadd(headers['x-reply-to'], '*', ...reply(value, 'next'));
    await fx.admin.xadd(headers['x-reply-to'], '*', ...reply(null, 'end'));
    await waitFor(() => seen.completed, 'the request ended');
    expect(seen.values).toEqual([1, 2, 1]);
  });
});
