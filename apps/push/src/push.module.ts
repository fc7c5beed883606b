import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../../shared/app-config.js';
import { OpsModule } from '../../shared/ops.module.js';
import { GROUPS, STREAMS } from '../../shared/redis-keys.js';
import { NotificationsController } from './notifications.controller.js';

@Module({})
export class PushModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: PushModule,
      imports: [
        OpsModule.forApp(config, [
          { stream: STREAMS.push, group: GROUPS.notification },
          { stream: STREAMS.email, group: GROUPS.notification },
        ]),
      ],
      controllers: [NotificationsController],
    };
  }
}
