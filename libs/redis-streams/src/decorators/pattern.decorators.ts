import { EventPattern as NestEventPattern, MessagePattern as NestMessagePattern } from '@nestjs/microservices';
import type { RedisStreamsHandlerOptions } from '../interfaces/redis-streams-options.interface.js';

/** Per-handler options of `@EventPattern` and `@MessagePattern` (`broadcast` is `@Broadcast`'s). */
export type RedisStreamsPatternOptions = Omit<RedisStreamsHandlerOptions, 'broadcast'>;

/**
 * Nest's `@EventPattern` for this transport: handles the entries of `stream` through a consumer group, with typed
 * options. Under `strict`, Nest 12's own `@EventPattern('Email')` rejects a handler whose second parameter is typed
 * (`@Ctx() ctx: RedisStreamsContext`, TS1241); this one accepts it, in Nest 11 and 12 alike.
 */
export function EventPattern(stream: string, options: RedisStreamsPatternOptions = {}): MethodDecorator {
  return NestEventPattern<string>(stream, { ...options });
}

/** Nest's `@MessagePattern` for this transport (request/response), with typed options; see `EventPattern`. */
export function MessagePattern(stream: string, options: RedisStreamsPatternOptions = {}): MethodDecorator {
  return NestMessagePattern<string>(stream, { ...options });
}
