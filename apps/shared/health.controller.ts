import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { AppRedis } from './app-redis.js';
import type { AppConfig } from './app-config.js';
import { readGroups } from './stream-info.js';
import { APP_CONFIG, WATCHED_GROUPS } from './tokens.js';

export interface WatchedGroup {
  stream: string;
  group: string;
}

export interface GroupHealth extends WatchedGroup {
  present: boolean;
  pending: number | null;
  lag: number | null;
  consumers: number | null;
}

export interface HealthReport {
  status: 'ok' | 'down';
  app: string;
  redis: 'up' | 'down';
  error?: string;
  groups: GroupHealth[];
}

/** GET /health: 200 when Redis answers and every group this app reads exists; 503 with the same report otherwise. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly redis: AppRedis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WATCHED_GROUPS) private readonly watched: WatchedGroup[],
  ) {}

  @Get()
  async check(): Promise<HealthReport> {
    const report: HealthReport = { status: 'ok', app: this.config.app, redis: 'up', groups: [] };
    try {
      await this.redis.client.ping();
      for (const { stream, group } of this.watched) {
        const found = (await readGroups(this.redis.client, this.config.keyPrefix + stream)).find(
          (g) => g.name === group,
        );
        report.groups.push({
          stream,
          group,
          present: found !== undefined,
          pending: found?.pending ?? null,
          lag: found?.lag ?? null,
          consumers: found?.consumers ?? null,
        });
      }
    } catch (err) {
      report.redis = 'down';
      const status = this.redis.client.status;
      // ioredis' own message for a command refused while disconnected says nothing about Redis being away.
      report.error = status === 'ready' ? (err as Error).message : `not connected to Redis (connection ${status})`;
    }
    if (report.redis === 'down' || report.groups.some((g) => !g.present)) {
      report.status = 'down';
      throw new ServiceUnavailableException(report);
    }
    return report;
  }
}
