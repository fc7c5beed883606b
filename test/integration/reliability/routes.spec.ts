import 'reflect-metadata';
import { Controller, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern } from '@nestjs/microservices';
import { InvalidOptionsError, RedisStreamsContext, RedisStreamsServer } from 'nestjs-redis-streams';
import { pendingCount } from '../../support/handlers.js';
import { waitFor } from '../../support/redis-server.js';
import { useStreamFixture } from '../../support/stream-fixture.js';

/** Issue 10, defect 4: one stream reaching one group by two routes (the server's `group` and the handler's). */
describe('one stream, one group, two routes', () => {
  const fx = useStreamFixture({ consumerIdleTimeout: 0 });

  it('runs both handlers for every entry when their options agree', async () => {
    const viaServer = new Set<string>();
    const viaHandler = new Set<string>();
    @Controller()
    class TwoRoutes {
      @EventPattern('Jobs')
      a(@Ctx() ctx: RedisStreamsContext) {
        viaServer.add(ctx.getId());
      }
      @EventPattern('Jobs', { group: 'G' })
      b(@Ctx() ctx: RedisStreamsContext) {
        viaHandler.add(ctx.getId());
      }
    }
    await fx.start([TwoRoutes], { group: 'G' });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await fx.client.dispatch('Jobs', { i }));
    await waitFor(
      async () => viaServer.size + viaHandler.size >= 60 && (await pendingCount(fx.admin, fx.key('Jobs'), 'G')) === 0,
      'both handlers ran every entry, all acked',
      8000,
    ).catch(() => undefined); // the assertions below say what went wrong
    expect({ viaServer: [...viaServer].sort(), viaHandler: [...viaHandler].sort() }).toEqual({
      viaServer: ids,
      viaHandler: ids,
    });
  });

  it('refuses to start when the two routes ask for different concurrency, naming the stream and the group', async () => {
    @Controller()
    class Conflicting {
      @EventPattern('Invoices')
      a() {}
      @EventPattern('Invoices', { group: 'Billing', concurrency: 3 })
      b() {}
    }
    const error = await listenError(Conflicting, 'Billing');
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as Error).message).toMatch(/Invoices/);
    expect((error as Error).message).toMatch(/Billing/);
  });

  /** What `app.listen()` rejects with (undefined when it starts). */
  async function listenError(controller: Type, group: string): Promise<unknown> {
    @Module({ controllers: [controller] })
    class AppModule {}
    const server = new RedisStreamsServer({ ...fx.base, group });
    const app = await NestFactory.createMicroservice(AppModule, { strategy: server, logger: false });
    try {
      await app.listen();
      return undefined;
    } catch (err) {
      return err;
    } finally {
      await app.close().catch(() => undefined);
    }
  }
});
