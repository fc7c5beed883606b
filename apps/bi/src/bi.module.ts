import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../../shared/app-config.js';
import { OpsModule } from '../../shared/ops.module.js';
import { GROUPS, STREAMS } from '../../shared/redis-keys.js';
import { CountersController } from './counters.controller.js';
import { DashboardController } from './dashboard/dashboard.controller.js';
import { HistoryController } from './dashboard/history.controller.js';
import { LiveFeed } from './dashboard/live-feed.js';
import { LiveFeedController } from './dashboard/live-feed.controller.js';

@Module({})
export class BiModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: BiModule,
      imports: [
        OpsModule.forApp(config, [
          { stream: STREAMS.email, group: GROUPS.bi },
          { stream: STREAMS.push, group: GROUPS.bi },
        ]),
      ],
      controllers: [CountersController, LiveFeedController, DashboardController, HistoryController],
      providers: [LiveFeed],
    };
  }
}
