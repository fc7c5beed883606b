import { Controller, Get, Header, Inject, Redirect } from '@nestjs/common';
import type { AppConfig } from '../../../shared/app-config.js';
import { AppRedis } from '../../../shared/app-redis.js';
import { keySpaceOf, STREAMS } from '../../../shared/redis-keys.js';
import { readStreamInfo, type StreamInfo } from '../../../shared/stream-info.js';
import { APP_CONFIG } from '../../../shared/tokens.js';
import { DASHBOARD_HTML } from './dashboard.page.js';

@Controller()
export class DashboardController {
  constructor(
    private readonly redis: AppRedis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @Redirect('/dashboard', 302)
  root(): void {}

  /** The dashboard: one static page, no build step. */
  @Get('dashboard')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  page(): string {
    return DASHBOARD_HTML;
  }

  /** GET /dashboard/streams: length, groups, consumers, pending and lag of each stream (XINFO), polled by the page. */
  @Get('dashboard/streams')
  async streams(): Promise<{ at: string; streams: StreamInfo[] }> {
    const streams = await Promise.all(
      [STREAMS.email, STREAMS.push].map((stream) => readStreamInfo(this.redis.client, keySpaceOf(this.config), stream)),
    );
    return { at: new Date().toISOString(), streams };
  }
}
