import { Controller, Inject, Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { RedisStreamsContext } from 'nestjs-redis-streams';
import type { AppConfig } from '../../shared/app-config.js';
import { field } from '../../shared/payload-fields.js';
import { countProcessed } from '../../shared/processed-effect.js';
import { type KeySpace, keySpaceOf, STREAMS } from '../../shared/redis-keys.js';
import { APP_CONFIG } from '../../shared/tokens.js';

/** A notification as a device would receive it. */
export interface Notification {
  recipient: string;
  title: string;
}

/** One group (NotificationServiceGroup, the server's) reads both streams in one XREADGROUP. */
@Controller()
export class NotificationsController {
  private readonly logger = new Logger(NotificationsController.name);

  private readonly space: KeySpace;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.space = keySpaceOf(config);
  }

  @EventPattern(STREAMS.push)
  push(@Payload() data: unknown, @Ctx() ctx: RedisStreamsContext): void {
    this.notify({ recipient: `user:${field(data, 'userId', 'unknown')}`, title: field(data, 'title') }, ctx);
  }

  @EventPattern(STREAMS.email)
  email(@Payload() data: unknown, @Ctx() ctx: RedisStreamsContext): void {
    this.notify(
      { recipient: `mail:${field(data, 'to', 'unknown')}`, title: `New mail: ${field(data, 'subject')}` },
      ctx,
    );
  }

  /** Stands in for a push provider; the delivery is counted exactly once per entry. */
  private notify(notification: Notification, ctx: RedisStreamsContext): void {
    this.logger.debug(`${ctx.getStream()} ${ctx.getId()} → ${notification.recipient}: ${notification.title}`);
    countProcessed(ctx, this.space);
  }
}
