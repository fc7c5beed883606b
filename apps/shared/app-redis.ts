import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { APP_CONFIG } from './tokens.js';
import type { AppConfig } from './app-config.js';

/**
 * The app's own Redis connection for health checks, stats and reading results; the transport keeps its connections to
 * itself. On a Redis Cluster (REDIS_CLUSTER) it is an ioredis `Cluster`, which routes each command to its key's node.
 */
@Injectable()
export class AppRedis implements OnApplicationShutdown {
  readonly client: Redis | Cluster;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    // No offline queue: while Redis is away a command fails at once, so /health says 503 instead of waiting.
    const options: RedisOptions = {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectionName: `${config.app}:app`,
    };
    this.client = config.redisCluster
      ? new Cluster(config.redisCluster, { enableOfflineQueue: false, redisOptions: options })
      : new Redis(config.redisUrl, options);
    // ioredis reconnects by itself; /health reports the outage, so one line per outage is enough here.
    let reported = false;
    this.client.on('error', (err: Error) => {
      if (!reported) console.error(`[${config.app}] Redis connection error: ${err.message}`);
      reported = true;
    });
    this.client.on('ready', () => (reported = false));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
