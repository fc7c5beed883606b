import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { validateClientOptions, validateServerOptions } from './validate-options.js';

describe('option validation', () => {
  it.each([
    [{ count: 0 }, /`count`.*whole number >= 1/],
    [{ concurrency: 1.5 }, /`concurrency`/],
    [{ startId: 'latest' }, /`startId`.*'\$'.*'0'/],
    [{ connection: 'localhost:6379' }, /`connection`.*redis:\/\//],
    [{ ack: 'sometimes' }, /`ack`/],
    [{ group: '' }, /`group`/],
    [{ claimInterval: -1 }, /`claimInterval`.*>= 0/],
    [{ connection: { cluster: [] } }, /`connection.cluster`.*host:port/],
    [{ connection: { cluster: ['node-1'] } }, /`connection.cluster`/],
    [{ connection: { cluster: ['n:1'], clusterOptions: { keyPrefix: 'a:' } } }, /`connection`.*keyPrefix/],
    [{ connection: { cluster: ['n:1'], clusterOptions: { redisOptions: { keyPrefix: 'a:' } } } }, /keyPrefix/],
    [{ connection: { cluster: ['n:1'], settleTimeout: -1 } }, /`connection.settleTimeout`.*0 or more/],
    [{ connection: { cluster: ['n:1'], settleTimeout: '30s' } }, /`connection.settleTimeout`/],
  ])('rejects %j with an error naming the option', (options, message) => {
    expect(() => validateServerOptions(options as never)).toThrow(InvalidOptionsError);
    expect(() => validateServerOptions(options as never)).toThrow(message);
  });

  it('accepts the documented forms', () => {
    expect(() =>
      validateServerOptions({
        connection: 'rediss://h:1',
        startId: '0',
        broadcastStartId: '1700000000000-0',
        claimInterval: 0,
      }),
    ).not.toThrow();
    expect(() => validateClientOptions({ maxLen: 1000 })).not.toThrow();
    expect(() =>
      validateServerOptions({
        connection: { cluster: ['10.0.0.1:7000', { host: 'n2', port: 7001 }], settleTimeout: 0 },
      }),
    ).not.toThrow();
  });

  it('rejects a client maxLen of zero', () => {
    expect(() => validateClientOptions({ maxLen: 0 })).toThrow(/`maxLen`/);
  });
});
