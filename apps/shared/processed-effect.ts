import type { RedisStreamsContext } from 'nestjs-redis-streams';
import { keys, type KeySpace } from './redis-keys.js';

/**
 * Declares the exactly-once "handled by this consumer" increment of the entry's group and stream. It is applied with
 * the entry's first acknowledgement only, so the totals equal the entries handled even after crashes and takeovers.
 */
export function countProcessed(ctx: RedisStreamsContext, space: KeySpace): void {
  ctx.effects.hIncrBy(keys.processed(space, ctx.getGroup() ?? 'broadcast', ctx.getStream()), ctx.getConsumer(), 1);
}
