import { DeadLetters } from '../dead-letter/dead-letters.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { RedisStreamsHealthIndicator } from '../health/redis-streams.health-indicator.js';
import { RedisStreamsMetrics } from '../metrics/redis-streams.metrics.js';
import { nearestName } from './nearest-name.js';
import { validateHandlerExtras } from './validate-extras.js';
import { validateClientOptions, validateServerOptions } from './validate-options.js';

describe('decorator extras validation', () => {
  it.each([
    [{ concurrency: -1 }, true, /`concurrency` of @EventPattern\('Email', …\): expected a whole number >= 1, got -1/],
    [{ ack: 'auto' }, true, /`ack` of @EventPattern\('Email', …\): expected 'after-success', 'manual' or 'on-receipt'/],
    [{ group: 123 }, true, /`group` of @EventPattern\('Email', …\): expected a non-empty string, got 123/],
    [{ maxDeliveries: 0 }, false, /`maxDeliveries` of @MessagePattern\('Email', …\)/],
    [{ concurrency: 0, broadcast: true }, true, /`concurrency` of @Broadcast\('Email', …\): expected a whole number/],
    [
      { concurency: 5 },
      true,
      /`concurency` of @EventPattern\('Email', …\): unknown option; did you mean `concurrency`\?/,
    ],
    [{ group: 'G', broadcast: true }, true, /`group` of @Broadcast\('Email', …\): unknown option.*takes `concurrency`/],
    [{ queue: 'q' }, true, /`queue`.*unknown option\. .*Transport\.NATS/],
  ])('rejects %j with an error naming the option and the decorator', (extras, isEvent, message) => {
    expect(() => validateHandlerExtras('Email', extras, isEvent)).toThrow(InvalidOptionsError);
    expect(() => validateHandlerExtras('Email', extras, isEvent)).toThrow(message);
  });

  it('accepts the documented extras, and none', () => {
    expect(() =>
      validateHandlerExtras('Email', { group: 'BI', concurrency: 10, maxDeliveries: 3, ack: 'manual' }, true),
    ).not.toThrow();
    expect(() => validateHandlerExtras('Email', { concurrency: 2, broadcast: true }, true)).not.toThrow();
    expect(() => validateHandlerExtras('Email', undefined, false)).not.toThrow();
    expect(() => validateHandlerExtras('Email', { concurrency: undefined }, true)).not.toThrow();
  });
});

describe('unknown option names', () => {
  it('rejects a misspelt server option, naming the nearest valid one', () => {
    expect(() => validateServerOptions({ claimIntervall: 1000 } as never)).toThrow(
      /Invalid option `claimIntervall` of RedisStreamsServer: unknown option; did you mean `claimInterval`\?/,
    );
  });

  it('rejects a misspelt client option, naming the nearest valid one', () => {
    expect(() => validateClientOptions({ requestTimout: 1000 } as never)).toThrow(
      /`requestTimout` of RedisStreamsClient: unknown option; did you mean `requestTimeout`\?/,
    );
  });

  it('lists the valid names when nothing is close', () => {
    expect(() => validateClientOptions({ transport: 'x' } as never)).toThrow(
      /unknown option\. RedisStreamsClient takes `connection`/,
    );
  });

  it('rejects misspelt names in the options of DeadLetters, metrics and the health indicator', async () => {
    expect(() => new DeadLetters({} as never, { keyprefix: 'app:' } as never)).toThrow(
      /`keyprefix` of DeadLetters: unknown option; did you mean `keyPrefix`\?/,
    );
    expect(() => new RedisStreamsMetrics({ streem: ['Email'] } as never)).toThrow(
      /`streem` of RedisStreamsMetrics: unknown option; did you mean `streams`\?/,
    );
    await expect(
      new RedisStreamsHealthIndicator({} as never).isHealthy('streams', { redis: {} as never, maxlag: 5 } as never),
    ).rejects.toThrow(/`maxlag` of RedisStreamsHealthIndicator.isHealthy: unknown option; did you mean `maxLag`\?/);
  });

  it('finds typos but not unrelated names', () => {
    expect(nearestName('concurency', ['group', 'concurrency'])).toBe('concurrency');
    expect(nearestName('MaxLen', ['maxLen', 'replyTtl'])).toBe('maxLen');
    expect(nearestName('transport', ['group', 'concurrency'])).toBeUndefined();
  });
});
