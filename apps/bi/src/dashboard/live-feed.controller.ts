import { Controller, type MessageEvent, Sse } from '@nestjs/common';
import { Broadcast, RedisStreamsContext } from 'nestjs-redis-streams';
import { Ctx, Payload } from '@nestjs/microservices';
import { map, type Observable } from 'rxjs';
import { field } from '../../../shared/payload-fields.js';
import { STREAMS } from '../../../shared/redis-keys.js';
import { LiveFeed } from './live-feed.js';

/**
 * Broadcast readers (plain XREAD, no group): every BI instance sees every entry, so each instance's dashboard shows
 * the whole traffic however the group's work is split between instances.
 */
@Controller('dashboard')
export class LiveFeedController {
  constructor(private readonly feed: LiveFeed) {}

  @Broadcast(STREAMS.email)
  email(@Payload() data: unknown, @Ctx() ctx: RedisStreamsContext): void {
    this.publish(ctx, `to ${field(data, 'to', '?')}: ${field(data, 'subject')}`);
  }

  @Broadcast(STREAMS.push)
  push(@Payload() data: unknown, @Ctx() ctx: RedisStreamsContext): void {
    this.publish(ctx, `user ${field(data, 'userId', '?')}: ${field(data, 'title')}`);
  }

  /** GET /dashboard/events: `entry` events as server-sent events. */
  @Sse('events')
  events(): Observable<MessageEvent> {
    return this.feed.entries$.pipe(map((entry) => ({ type: 'entry', id: entry.id, data: entry })));
  }

  private publish(ctx: RedisStreamsContext, summary: string): void {
    this.feed.publish({ stream: ctx.getStream(), id: ctx.getId(), at: ctx.getTimestamp().toISOString(), summary });
  }
}
