import { Controller, Get, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { RedisStreamsContext } from 'nestjs-redis-streams';
import type { AppConfig } from '../../shared/app-config.js';
import { AppRedis } from '../../shared/app-redis.js';
import { countProcessed } from '../../shared/processed-effect.js';
import { keys, STREAMS } from '../../shared/redis-keys.js';
import { APP_CONFIG } from '../../shared/tokens.js';

export interface Counters {
  /** Entries counted per stream. */
  totals: Record<string, number>;
  /** Per stream: minute (UTC, `YYYY-MM-DDTHH:MM`, from the entry id's time) → entries. */
  perMinute: Record<string, Record<string, number>>;
}

/**
 * One group (BIGroup, the server's) over both streams. The counters are exactly-once effects: an entry redelivered
 * after a crash adds nothing, so they equal what the gateway accepted.
 */
@Controller('counters')
export class CountersController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: AppRedis,
  ) {}

  @EventPattern(STREAMS.email)
  email(@Payload() _data: unknown, @Ctx() ctx: RedisStreamsContext): void {
    this.count(ctx);
  }

  @EventPattern(STREAMS.push)
  push(@Payload() _data: unknown, @Ctx() ctx: RedisStreamsContext): void {
    this.count(ctx);
  }

  /** GET /counters: the totals and per-minute counts, from Redis. */
  @Get()
  async read(): Promise<Counters> {
    const prefix = this.config.keyPrefix;
    const streams = [STREAMS.email, STREAMS.push];
    const [totals, ...minutes] = await Promise.all([
      this.redis.client.hgetall(keys.biTotals(prefix)),
      ...streams.map((stream) => this.redis.client.hgetall(keys.biPerMinute(prefix, stream))),
    ]);
    return {
      totals: Object.fromEntries(streams.map((stream) => [stream, Number(totals[stream] ?? 0)])),
      perMinute: Object.fromEntries(streams.map((stream, i) => [stream, numbers(minutes[i])])),
    };
  }

  private count(ctx: RedisStreamsContext): void {
    const prefix = this.config.keyPrefix;
    const stream = ctx.getStream();
    const minute = ctx.getTimestamp().toISOString().slice(0, 16);
    ctx.effects.hIncrBy(keys.biTotals(prefix), stream, 1).hIncrBy(keys.biPerMinute(prefix, stream), minute, 1);
    countProcessed(ctx, prefix);
  }
}

function numbers(hash: Record<string, string>): Record<string, number> {
  return Object.fromEntries(Object.entries(hash).map(([field, value]) => [field, Number(value)]));
}
