import { EventPattern } from '@nestjs/microservices';
import type { RedisStreamsHandlerOptions } from '../interfaces/redis-streams-options.interface.js';

/**
 * Handles every entry of `stream` in every running instance (plain XREAD, no consumer group, nothing acknowledged).
 * It can sit beside an `@EventPattern` of the same stream in the same app: the two are separate subscriptions.
 */
export function Broadcast(
  stream: string,
  options: Pick<RedisStreamsHandlerOptions, 'concurrency'> = {},
): MethodDecorator {
  return EventPattern<string>(stream, { ...options, broadcast: true });
}
