import { Controller, Get, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { RedisStreamsContext } from 'nestjs-redis-streams';
import type { AppConfig } from '../../shared/app-config.js';
import { AppRedis } from '../../shared/app-redis.js';
import { countProcessed } from '../../shared/processed-effect.js';
import { type KeySpace, keys, keySpaceOf, STREAMS } from '../../shared/redis-keys.js';
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
  private readonly space: KeySpace;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly redis: AppRedis,
  ) {
    this.space = keySpaceOf(config);
  }

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
    const streams = [STREAMS.email, STREAMS.push];
    // Each stream's total is its own field, in one shared hash on one Redis and in its stream's hash on a cluster.
    const [totals, minutes] = await Promise.all([
      Promise.all(streams.map((stream) => this.redis.client.hget(keys.biTotals(this.space, stream), stream))),
      Promise.all(streams.map((stream) => this.redis.client.hgetall(keys.biPerMinute(this.space, stream)))),
    ]);
    return {
      totals: Object.fromEntries(streams.map((stream, i) => [stream, Number(totals[i] ?? 0)])),
      perMinute: Object.fromEntries(streams.map((stream, i) => [stream, numbers(minutes[i])])),
    };
  }

  /** Keys in the entry's stream slot on a cluster: each stream's counts are effects of its own entries. */
  private count(ctx: RedisStreamsContext): void {
    const stream = ctx.getStream();
    const minute = ctx.getTimestamp().toISOString().slice(0, 16);
    ctx.effects
      .hIncrBy(keys.biTotals(this.space, stream), stream, 1)
      .hIncrBy(keys.biPerMinute(this.space, stream), minute, 1);
    countProcessed(ctx, this.space);
  }
}

function numbers(hash: Record<string, string>): Record<string, number> {
  return Object.fromEntries(Object.entries(hash).map(([field, value]) => [field, Number(value)]));
}
