import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../../shared/app-config.js';
import { OpsModule } from '../../shared/ops.module.js';
import { GROUPS, STREAMS } from '../../shared/redis-keys.js';
import { EmailController } from './email.controller.js';
import { MAIL_SENDER } from './mail-sender.interface.js';
import { RecordingMailSender } from './recording-mail-sender.js';

@Module({})
export class EmailModule {
  /** Swap the sender by overriding MAIL_SENDER (an SMTP or API sender would use the entry id as idempotency key). */
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: EmailModule,
      imports: [OpsModule.forApp(config, [{ stream: STREAMS.email, group: GROUPS.email }])],
      controllers: [EmailController],
      providers: [{ provide: MAIL_SENDER, useClass: RecordingMailSender }],
    };
  }
}
