import { Controller, Get, Inject } from '@nestjs/common';
import type { AppConfig } from './app-config.js';
import { ProcessedStats, type StreamCounts } from './processed-stats.js';
import { APP_CONFIG } from './tokens.js';

/** GET /stats: what this instance processed since it started, per stream key and group. */
@Controller('stats')
export class StatsController {
  constructor(
    private readonly stats: ProcessedStats,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  get(): { app: string; consumer: string; pid: number; startedAt: string; streams: Record<string, StreamCounts> } {
    return { app: this.config.app, ...this.stats.snapshot() };
  }
}
