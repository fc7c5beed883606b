import { Controller, type Type } from '@nestjs/common';
import { Ctx, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import type { Redis } from 'ioredis';
import { NoResponderError, RedisStreamsClient, RedisStreamsContext, RequestTimeoutError } from 'nestjs-redis-streams';
import { firstValueFrom, interval, lastValueFrom, map, type Observable, Subject, take, toArray } from 'rxjs';
import { APP_COMMANDS } from '../support/acl.js';
import { randomName, RedisServer, waitFor } from '../support/redis-server.js';
import { startService, type TestService } from '../support/nest-app.js';

describe('request/response', () => {
  let redis: RedisServer;
  let admin: Redis;
  let client: RedisStreamsClient;
  let services: TestService[] = [];
  let prefix: string;

  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = redis.client();
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
  });
  beforeEach(async () => {
    prefix = `${randomName()}:`;
    client = new RedisStreamsClient({ connection: redis.url, keyPrefix: prefix });
    await client.connect();
  });
  afterEach(async () => {
    await Promise.all(services.map((s) => s.close()));
    services = [];
    await client.close();
  });

  /** Answers `sum`, `fail` and `count`; logs which consumer answered each `sum`. */
  function calculator(answeredBy: string[] = []) {
    @Controller()
    class Calculator {
      @MessagePattern('sum')
      sum(@Payload() numbers: number[], @Ctx() ctx: RedisStreamsContext) {
        answeredBy.push(ctx.getConsumer());
        return numbers.reduce((a, b) => a + b, 0);
      }

      @MessagePattern('fail')
      fail(): never {
        throw new RpcException('the calculator is out of order');
      }

      @MessagePattern('count')
      count(@Payload() upTo: number): Observable<number> {
        return interval(5).pipe(
          take(upTo),
          map((i) => i + 1),
        );
      }
    }
    return Calculator;
  }

  function start(controller: Type) {
    return startService([controller], { connection: redis.url, keyPrefix: prefix, group: 'calculators' });
  }

  it('answers a request with the handler result', async () => {
    services.push(await start(calculator()));

    await expect(firstValueFrom(client.send('sum', [1, 2, 3]))).resolves.toBe(6);
    expect(client.pendingRequests).toBe(0);
  });

  it('is answered by exactly one of several instances of the group', async () => {
    const answeredBy: string[] = [];
    for (let i = 0; i < 3; i++) services.push(await start(calculator(answeredBy)));

    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) => firstValueFrom(client.send('sum', [i, 1]).pipe(toArray()))),
    );

    expect(replies).toEqual(Array.from({ length: 12 }, (_, i) => [i + 1]));
    // Every request acked means every handling is over: a second answer would have been counted by now.
    await waitFor(async () => (await admin.xpending(`${prefix}sum`, 'calculators'))[0] === 0, 'requests acked');
    expect(answeredBy).toHaveLength(12);
    const consumers = new Set(services.map((s) => s.server.consumer));
    for (const consumer of answeredBy) expect(consumers.has(consumer)).toBe(true);
  });

  it('delivers a handler exception to the caller as an RPC error and acks the request', async () => {
    services.push(await start(calculator()));

    await expect(firstValueFrom(client.send('fail', {}))).rejects.toEqual({
      status: 'error',
      message: 'the calculator is out of order',
    });
    await waitFor(async () => (await admin.xpending(`${prefix}fail`, 'calculators'))[0] === 0, 'request entry acked');
    expect(await admin.xlen(`${prefix}fail:dead`)).toBe(0);
  });

  it('fails at once when no consumer group reads the stream', async () => {
    await expect(firstValueFrom(client.send('sum', [1]))).rejects.toBeInstanceOf(NoResponderError);
    expect(client.pendingRequests).toBe(0);
  });

  it('times out when no server answers, and frees the request', async () => {
    const impatient = new RedisStreamsClient({ connection: redis.url, keyPrefix: prefix, requestTimeout: 300 });
    try {
      // A group exists, so the request is written, but no server runs.
      await admin.xgroup('CREATE', `${prefix}sum`, 'calculators', '$', 'MKSTREAM');

      await expect(firstValueFrom(impatient.send('sum', [1]))).rejects.toBeInstanceOf(RequestTimeoutError);

      expect(impatient.pendingRequests).toBe(0);
      await waitFor(async () => (await admin.xlen(`${prefix}sum`)) === 0, 'request entry deleted after the timeout');
    } finally {
      await impatient.close();
    }
  });

  it('frees a pending request when the caller unsubscribes', async () => {
    // A group exists but no server runs, so the request waits in the stream until the caller gives up.
    await admin.xgroup('CREATE', `${prefix}sum`, 'calculators', '$', 'MKSTREAM');
    const received: unknown[] = [];
    const subscription = client
      .send('sum', [1])
      .subscribe({ next: (v) => received.push(v), error: (e) => received.push(e) });
    await waitFor(() => client.pendingRequests === 1, 'request pending');
    await waitFor(async () => (await admin.xlen(`${prefix}sum`)) === 1, 'request written');

    subscription.unsubscribe();

    expect(client.pendingRequests).toBe(0);
    await waitFor(async () => (await admin.xlen(`${prefix}sum`)) === 0, 'request entry deleted after unsubscribe');
    expect(received).toEqual([]);
  });

  it('streams several values of an observable handler back in order, then completes', async () => {
    services.push(await start(calculator()));

    const values = await lastValueFrom(client.send<number>('count', 5).pipe(toArray()));

    expect(values).toEqual([1, 2, 3, 4, 5]);
    expect(client.pendingRequests).toBe(0);
  });

  it('sends each streamed value as the handler produces it, and the end when it completes', async () => {
    const values = new Subject<number>();
    @Controller()
    class Ticker {
      @MessagePattern('ticks')
      ticks(): Observable<number> {
        return values;
      }
    }
    services.push(await start(Ticker));
    const received: number[] = [];
    let completed = false;
    const subscription = client
      .send<number>('ticks', {})
      .subscribe({ next: (v) => received.push(v), complete: () => (completed = true) });
    try {
      await waitFor(() => values.observed, 'the handler subscribed');
      values.next(1); // no second value yet, and no completion: the first must arrive anyway
      await waitFor(() => received.length === 1, 'the first value while the observable is still open');
      values.next(2);
      await waitFor(() => received.length === 2, 'the second value');
      expect(completed).toBe(false);
      values.complete();
      await waitFor(() => completed, 'the end of the stream');
      expect(received).toEqual([1, 2]);
      expect(client.pendingRequests).toBe(0);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('completes without a value when the handler returns an empty observable', async () => {
    @Controller()
    class Quiet {
      @MessagePattern('nothing')
      nothing(): Observable<number> {
        return interval(1).pipe(take(0));
      }
    }
    services.push(await start(Quiet));

    await expect(lastValueFrom(client.send('nothing', {}).pipe(toArray()))).resolves.toEqual([]);
  });

  it('deletes the reply stream when the client closes', async () => {
    services.push(await start(calculator()));
    await firstValueFrom(client.send('sum', [2, 2]));
    const replyStream = client.replyStream!;
    expect(await admin.exists(replyStream)).toBe(1);

    await client.close();

    expect(await admin.exists(replyStream)).toBe(0);
  });

  it('gives the reply stream an expiry that is pushed back while the client lives', async () => {
    const shortLived = new RedisStreamsClient({ connection: redis.url, keyPrefix: prefix, replyTtl: 1500 });
    try {
      services.push(await start(calculator()));
      await firstValueFrom(shortLived.send('sum', [1, 1]));
      const replyStream = shortLived.replyStream!;

      const ttl = await admin.pttl(replyStream);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(1500);

      // Longer than the time to live: only the refresh keeps the stream (a crashed client's stream would be gone).
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(await admin.exists(replyStream)).toBe(1);
      await expect(firstValueFrom(shortLived.send('sum', [2, 3]))).resolves.toBe(5);
    } finally {
      await shortLived.close();
    }
  });

  it('lets the reply stream of a client that stops without close() expire', async () => {
    const crashing = new RedisStreamsClient({ connection: redis.url, keyPrefix: prefix, replyTtl: 1000 });
    services.push(await start(calculator()));
    await firstValueFrom(crashing.send('sum', [1, 1]));
    const replyStream = crashing.replyStream!;

    crashing.unwrap().disconnect(); // like a crash: nothing pushes the expiry back any more

    await waitFor(async () => (await admin.exists(replyStream)) === 0, 'reply stream expired', 5000);
    await crashing.close();
  });

  it('refuses a request whose reply stream lies outside the reply streams of its key prefix', async () => {
    const answeredBy: string[] = [];
    services.push(await start(calculator(answeredBy)));
    const victim = `${prefix}Email`;
    await admin.xadd(victim, '*', 'data', '"an existing stream"');
    const forged = JSON.stringify({ 'x-reply-to': victim, 'x-correlation-id': 'forged-1' });

    await admin.xadd(`${prefix}sum`, '*', 'data', '[1,2]', 'headers', forged);

    await waitFor(
      async () =>
        (await admin.xpending(`${prefix}sum`, 'calculators'))[0] === 0 && (await admin.xlen(`${prefix}sum`)) === 1,
      'forged request acked',
    );
    expect(answeredBy).toEqual([]);
    expect(await admin.xlen(victim)).toBe(1);
  });

  it('needs only the commands of the least-privilege ACL in docs/security.md', async () => {
    await admin.call(
      'ACL',
      'SETUSER',
      'rpc-app',
      'reset',
      'on',
      '>rpc-secret',
      `~${prefix}*`,
      'resetchannels',
      '-@all',
      ...APP_COMMANDS.map((c) => `+${c}`),
    );
    await admin.call('ACL', 'LOG', 'RESET');
    const connection = `redis://rpc-app:rpc-secret@127.0.0.1:${redis.port}`;
    const limited = new RedisStreamsClient({ connection, keyPrefix: prefix });
    services.push(await startService([calculator()], { connection, keyPrefix: prefix, group: 'calculators' }));

    await expect(lastValueFrom(limited.send('count', 3).pipe(toArray()))).resolves.toEqual([1, 2, 3]);
    await expect(firstValueFrom(limited.send('fail', {}))).rejects.toMatchObject({ status: 'error' });
    const replyStream = limited.replyStream!;
    await limited.close();
    await services.pop()!.close();

    expect(await admin.exists(replyStream)).toBe(0);
    expect(await admin.call('ACL', 'LOG')).toEqual([]);
  });

  it('answers again after Redis restarts and loses every key, reply stream included', async () => {
    const volatile = await RedisServer.start();
    const own = new RedisStreamsClient({ connection: volatile.url, keyPrefix: prefix, requestTimeout: 1000 });
    try {
      services.push(
        await startService([calculator()], { connection: volatile.url, keyPrefix: prefix, group: 'calculators' }),
      );
      await expect(firstValueFrom(own.send('sum', [1, 2]))).resolves.toBe(3);

      await volatile.restart();

      const answered = async () => {
        try {
          return (await firstValueFrom(own.send('sum', [2, 3]))) === 5;
        } catch {
          return false; // group or reply stream not re-created yet
        }
      };
      await waitFor(answered, 'a request answered after the restart', 20_000);
      const check = volatile.client();
      expect(await check.exists(own.replyStream!)).toBe(1);
      check.disconnect();
    } finally {
      await Promise.all(services.map((s) => s.close()));
      services = [];
      await own.close();
      await volatile.stop();
    }
  });

  it('passes the request headers of a RedisStreamsRecord to the handler context', async () => {
    const seen: Record<string, string>[] = [];
    @Controller()
    class Echo {
      @MessagePattern('echo')
      echo(@Payload() data: unknown, @Ctx() ctx: RedisStreamsContext) {
        seen.push(ctx.getHeaders());
        return data;
      }
    }
    services.push(await start(Echo));
    const { RedisStreamsRecord } = await import('nestjs-redis-streams');

    await expect(
      firstValueFrom(client.send('echo', new RedisStreamsRecord({ a: 1 }, { 'trace-id': 't1' }))),
    ).resolves.toEqual({ a: 1 });
    expect(seen[0]).toMatchObject({ 'trace-id': 't1', 'x-reply-to': client.replyStream });
  });
});
