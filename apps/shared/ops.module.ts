import { type DynamicModule, Global, Module } from '@nestjs/common';
import { AppRedis } from './app-redis.js';
import type { AppConfig } from './app-config.js';
import { HealthController, type WatchedGroup } from './health.controller.js';
import { ProcessedStats } from './processed-stats.js';
import { StatsController } from './stats.controller.js';
import { APP_CONFIG, WATCHED_GROUPS } from './tokens.js';

/** What every sample app has besides its handlers: config, its own Redis connection, GET /health and GET /stats. */
@Global()
@Module({})
export class OpsModule {
  static forApp(config: AppConfig, watched: WatchedGroup[]): DynamicModule {
    return {
      module: OpsModule,
      controllers: [HealthController, StatsController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: WATCHED_GROUPS, useValue: watched },
        AppRedis,
        ProcessedStats,
      ],
      exports: [APP_CONFIG, AppRedis, ProcessedStats],
    };
  }
}
