import { InvalidOptionsError, RedisStreamsClient, RedisStreamsServer } from 'nestjs-redis-streams';

/**
 * Issue 10, defect 14: ioredis's own `keyPrefix` applies to some commands and not others (XREADGROUP and XADD are
 * prefixed, XGROUP and XINFO are not), so in `connection` it is refused in favour of the transport's `keyPrefix`.
 */
describe('an ioredis keyPrefix inside connection', () => {
  const connection = { host: '127.0.0.1', port: 1, keyPrefix: 'app:', lazyConnect: true };

  function constructionError(create: () => unknown): unknown {
    try {
      create();
      return undefined;
    } catch (err) {
      return err;
    }
  }

  it.each([
    ['RedisStreamsServer', () => new RedisStreamsServer({ connection, group: 'G' })],
    ['RedisStreamsClient', () => new RedisStreamsClient({ connection })],
  ])('is refused by %s at construction, pointing to the transport’s own keyPrefix', (_, create) => {
    const error = constructionError(create);
    expect(error).toBeInstanceOf(InvalidOptionsError);
    const message = (error as Error).message;
    expect(message).toMatch(/connection/);
    expect(message).toMatch(/`keyPrefix`|keyPrefix option/);
  });
});
