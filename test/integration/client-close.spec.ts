import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { RedisStreamsClient } from 'nestjs-redis-streams';
import { firstValueFrom } from 'rxjs';
import { within } from '../support/bounded.js';
import { startService, type TestService } from '../support/nest-app.js';
import { randomName, RedisServer, waitFor } from '../support/redis-server.js';

@Controller()
class Echo {
  @MessagePattern('echo')
  echo(@Payload() data: unknown) {
    return data;
  }
}

describe('client close() with Redis unreachable', () => {
  let redis: RedisServer;
  let service: TestService | undefined;
  let client: RedisStreamsClient;

  beforeEach(async () => {
    redis = await RedisServer.start();
    const prefix = `${randomName()}:`;
    service = await startService([Echo], { connection: redis.url, keyPrefix: prefix, group: 'echo' });
    client = new RedisStreamsClient({ connection: redis.url, keyPrefix: prefix, requestTimeout: 60_000 });
    await client.connect();
    await expect(firstValueFrom(client.send('echo', 1))).resolves.toBe(1);
    // The service is closed now, while Redis is up: the test is about the client.
    await service.close();
    service = undefined;
  });
  afterEach(async () => {
    await redis.stop();
  });

  it('returns within a bound after send() once Redis is down, failing the requests still waiting', async () => {
    const waiting = firstValueFrom(client.send('echo', 2));
    waiting.catch(() => undefined);
    await waitFor(() => client.pendingRequests === 1, 'the request is sent');
    await redis.kill('SIGKILL');
    const t0 = Date.now();
    expect(await within(5000, client.close())).toBe('settled');
    expect(Date.now() - t0).toBeLessThan(3000);
    await expect(waiting).rejects.toThrow(/closed before send\('echo'\) got its reply/);
  });

  it('returns within a bound after send() while Redis is frozen', async () => {
    const waiting = firstValueFrom(client.send('echo', 2));
    waiting.catch(() => undefined);
    await waitFor(() => client.pendingRequests === 1, 'the request is sent');
    redis.pause();
    const t0 = Date.now();
    expect(await within(5000, client.close())).toBe('settled');
    expect(Date.now() - t0).toBeLessThan(3000);
    await expect(waiting).rejects.toThrow(/closed before send\('echo'\) got its reply/);
    redis.resume();
  });
});
