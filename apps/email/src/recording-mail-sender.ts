import { Inject, Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppConfig } from '../../shared/app-config.js';
import { keys } from '../../shared/redis-keys.js';
import { APP_CONFIG } from '../../shared/tokens.js';
import type { Mail, MailDelivery, MailSender } from './mail-sender.interface.js';

/**
 * The default sender: instead of talking to an SMTP server it records each sent mail in Redis (hash entry id →
 * consumer, and a counter), declared as exactly-once effects, so a redelivered entry is never counted twice.
 * `MAIL_SEND_DELAY_MS` simulates a mail server's latency.
 */
@Injectable()
export class RecordingMailSender implements MailSender {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async send(_mail: Mail, delivery: MailDelivery): Promise<void> {
    if (this.config.mailSendDelayMs > 0) await sleep(this.config.mailSendDelayMs);
    const prefix = this.config.keyPrefix;
    delivery.effects.hSet(keys.sentMail(prefix), delivery.id, delivery.consumer).incrBy(keys.sentMailCount(prefix), 1);
  }
}
