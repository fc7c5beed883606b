import { Inject, Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppConfig } from '../../shared/app-config.js';
import { type KeySpace, keys, keySpaceOf } from '../../shared/redis-keys.js';
import { APP_CONFIG } from '../../shared/tokens.js';
import type { Mail, MailDelivery, MailSender } from './mail-sender.interface.js';

/**
 * The default sender: instead of talking to an SMTP server it records each sent mail in Redis (hash entry id →
 * consumer, and a counter), declared as exactly-once effects, so a redelivered entry is never counted twice.
 * `MAIL_SEND_DELAY_MS` simulates a mail server's latency.
 */
@Injectable()
export class RecordingMailSender implements MailSender {
  private readonly delayMs: number;
  private readonly space: KeySpace;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.delayMs = config.mailSendDelayMs;
    this.space = keySpaceOf(config);
  }

  async send(_mail: Mail, delivery: MailDelivery): Promise<void> {
    if (this.delayMs > 0) await sleep(this.delayMs);
    const { space } = this;
    delivery.effects.hSet(keys.sentMail(space), delivery.id, delivery.consumer).incrBy(keys.sentMailCount(space), 1);
  }
}
