import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { RedisStreamsContext } from 'nestjs-redis-streams';
import type { AppConfig } from '../../shared/app-config.js';
import { countProcessed } from '../../shared/processed-effect.js';
import { type KeySpace, keySpaceOf, STREAMS } from '../../shared/redis-keys.js';
import { APP_CONFIG } from '../../shared/tokens.js';
import { MAIL_SENDER, type Mail, type MailSender } from './mail-sender.interface.js';

@Controller()
export class EmailController {
  private readonly space: KeySpace;

  constructor(
    @Inject(MAIL_SENDER) private readonly sender: MailSender,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.space = keySpaceOf(config);
  }

  /** Through the server's group (EmailServiceGroup): each mail to one replica. */
  @EventPattern(STREAMS.email)
  async send(@Payload() data: unknown, @Ctx() ctx: RedisStreamsContext): Promise<void> {
    const mail = toMail(data, ctx.getId());
    await this.sender.send(mail, { id: ctx.getId(), consumer: ctx.getConsumer(), effects: ctx.effects });
    countProcessed(ctx, this.space);
  }
}

/**
 * Entries come from the gateway (validated JSON) or from anyone with redis-cli (plain fields, all strings). A mail
 * without an address can never be sent: failing it sends it to the dead-letter stream after the delivery cap.
 */
function toMail(data: unknown, id: string): Mail {
  const fields = (data ?? {}) as Record<string, unknown>;
  if (typeof fields.to !== 'string' || fields.to === '') {
    throw new Error(`Entry ${id} of Email has no "to" field: write to, subject and body.`);
  }
  return {
    to: fields.to,
    subject: typeof fields.subject === 'string' ? fields.subject : '',
    body: typeof fields.body === 'string' ? fields.body : '',
  };
}
