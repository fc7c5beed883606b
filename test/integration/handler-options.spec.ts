import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { Broadcast, InvalidOptionsError, type RedisStreamsHandlerOptions } from 'nestjs-redis-streams';
import { startService } from '../support/nest-app.js';
import { randomName, RedisServer } from '../support/redis-server.js';

describe('handler options in decorators', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis.stop();
  });

  const start = (controller: new () => unknown) =>
    startService([controller], { connection: redis.url, keyPrefix: `${randomName()}:`, group: 'G' });

  it.each<[string, RedisStreamsHandlerOptions, RegExp]>([
    ['a negative concurrency', { concurrency: -1 }, /`concurrency` of @EventPattern\('Email', …\)/],
    ['an unknown ack mode', { ack: 'auto' as never }, /`ack` of @EventPattern\('Email', …\)/],
    ['a group that is not a string', { group: 123 as never }, /`group` of @EventPattern\('Email', …\)/],
    ['a misspelt name', { concurency: 2 } as never, /did you mean `concurrency`/],
  ])('refuses to start with %s in @EventPattern extras', async (_, extras, message) => {
    @Controller()
    class Handler {
      @EventPattern('Email', extras)
      handle(@Payload() data: unknown) {
        return data;
      }
    }
    const starting = start(Handler);
    await expect(starting).rejects.toThrow(InvalidOptionsError);
    await expect(starting).rejects.toThrow(message);
  });

  it('refuses to start with a broadcast concurrency of 0', async () => {
    @Controller()
    class Handler {
      @Broadcast('Email', { concurrency: 0 })
      handle(@Payload() data: unknown) {
        return data;
      }
    }
    await expect(start(Handler)).rejects.toThrow(
      /`concurrency` of @Broadcast\('Email', …\): expected a whole number >= 1, got 0/,
    );
  });
});
