// One redis-server with AOF and `appendfsync always` (a write a client saw acknowledged survives a crash), and a
// latency proxy in front of it when the seed draws one.
import type { Redis } from 'ioredis';
import { RedisServer } from '../support/redis-server.js';
import { LatencyProxy } from './latency-proxy.js';
import { type ClientConnection, namedConnections, type RedisUnderTest } from './redis-under-test.js';

export class StandaloneUnderTest implements RedisUnderTest {
  readonly admin: Redis;

  private constructor(
    readonly server: RedisServer,
    readonly proxies: LatencyProxy[],
  ) {
    this.admin = server.client();
    this.admin.on('error', () => undefined);
  }

  static async start(proxyDelayMs: number | undefined): Promise<StandaloneUnderTest> {
    const server = await RedisServer.start({ appendOnly: true, args: ['--appendfsync', 'always'] });
    const proxies = proxyDelayMs === undefined ? [] : [new LatencyProxy(server.port, proxyDelayMs)];
    try {
      for (const proxy of proxies) await proxy.start();
    } catch (err) {
      await server.stop();
      throw err;
    }
    return new StandaloneUnderTest(server, proxies);
  }

  get connection(): string {
    return this.server.url;
  }

  get workerEnv(): { CHAOS_REDIS_URL: string } {
    return { CHAOS_REDIS_URL: this.proxies[0]?.url ?? this.server.url };
  }

  async connections(prefix: string): Promise<ClientConnection[]> {
    const list = (await this.admin.call('CLIENT', 'LIST', 'TYPE', 'normal')) as string;
    return namedConnections(list, this.server.port, prefix).sort((a, b) => a.name.localeCompare(b.name));
  }

  async killConnection({ id }: ClientConnection): Promise<void> {
    await this.admin.call('CLIENT', 'KILL', 'ID', id);
  }

  async stop(): Promise<void> {
    this.admin.disconnect();
    for (const proxy of this.proxies) await proxy.stop();
    await this.server.stop();
  }

  killNow(): void {
    void this.server.kill('SIGKILL');
  }
}
