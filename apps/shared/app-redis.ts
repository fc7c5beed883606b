import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG } from './tokens.js';
import type { AppConfig } from './app-config.js';

/**
 * The app's own Redis connection for health checks, stats and reading results; the transport keeps its connections to
 * itself.
 */
@Injectable()
export class AppRedis implements OnApplicationShutdown {
  readonly client: Redis;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    // No offline queue: while Redis is away a command fails at once, so /health says 503 instead of waiting.
    this.client = new Redis(config.redisUrl, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectionName: `${config.app}:app`,
    });
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
